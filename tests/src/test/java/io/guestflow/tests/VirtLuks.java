package io.guestflow.tests;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The oracle for encrypted guests: the virt tools run with {@code --key} on
 * the {@link LuksFixture} (LVM on LUKS and LUKS on LVM), kept as golden files
 * ({@link Oracles}, folder {@code virt-tools-luks/}) and made again by
 * {@code make oracles ORACLES=virtToolsLuks}:
 * <ul>
 *   <li>{@code inspector.xml}: {@code virt-inspector} with both keys by device name;</li>
 *   <li>{@code sysprep.tree}: the tree {@code virt-sysprep --operations defaults,-lvm-uuids} leaves, read with
 *   the keys ({@link #SYSPREP_OPS});</li>
 *   <li>{@code sparsify-copy.json}, {@code sparsify-in-place.json}: what {@code virt-sparsify} (copy, and
 *   {@code --in-place}) printed, its exit code and the sizes;</li>
 *   <li>{@code log.txt}: {@code virt-log} with both keys by LUKS UUID.</li>
 * </ul>
 * guestfs-tools 1.48.2 has no {@code all} selector (it asks on the terminal), so the goldens give keys by device
 * name and by UUID. The LUKS UUIDs of the build the goldens came from are kept in {@code luks.properties}: names
 * such as {@code /dev/mapper/luks-<UUID>} are compared by origin against a fixture built later.
 */
final class VirtLuks {
    static final String FOLDER = "virt-tools-luks";
    /**
     * The default operations but {@code lvm-uuids}: with a LUKS container open on an LV, virt-sysprep 1.48 (and
     * ours) cannot deactivate that LV's volume group to give it new UUIDs ({@code vg_activate_all: Logical volume
     * datavg/secret is used by another device}) and fails.
     */
    static final List<String> SYSPREP_OPS = List.of("defaults", "-lvm-uuids");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One virt-sparsify run: exit code, its messages (timestamps cut off), allocated bytes before and after. */
    record SparsifyRun(String mode, int exitCode, List<String> messages, long allocatedBefore, long allocatedAfter) {
    }

    private VirtLuks() {
    }

    static String recipe() {
        return "luks-v" + LuksFixture.RECIPE + " sysprep" + SYSPREP_OPS;
    }

    /** The text of golden file {@code name} with the golden build's LUKS UUIDs replaced by {@code fixture}'s. */
    static String golden(String name, LuksFixture.Built fixture) {
        Properties uuids = new Properties();
        try (var r = Files.newBufferedReader(Oracles.of(FOLDER, recipe()).resolve("luks.properties"))) {
            uuids.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Oracles.read(FOLDER, recipe(), name)
                .replace(uuids.getProperty("root"), fixture.rootLuksUuid())
                .replace(uuids.getProperty("data"), fixture.dataLuksUuid());
    }

    static SparsifyRun sparsify(String mode, LuksFixture.Built fixture) {
        try {
            return JSON.readValue(golden("sparsify-" + mode + ".json", fixture), SparsifyRun.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> byDevice() {
        return List.of("--key", LuksFixture.ROOT_PART + ":key:" + LuksFixture.ROOT_KEY,
                "--key", LuksFixture.DATA_LV + ":key:" + LuksFixture.DATA_KEY);
    }

    private static List<String> cmd(String tool, List<String> keys, String... rest) {
        List<String> c = new ArrayList<>(List.of(tool));
        c.addAll(keys);
        c.addAll(List.of(rest));
        return c;
    }

    /** Runs the virt tools with keys on copies of the current fixture: the golden files, by name. */
    static Map<String, String> regenerate(Path work) throws IOException {
        LuksFixture.Built fixture = LuksFixture.ensure();
        Map<String, String> files = new LinkedHashMap<>();
        Duration limit = Duration.ofMinutes(15);
        String image = fixture.image().toString();

        String xml = VirtTool.run(limit, cmd("virt-inspector", byDevice(), "--format=qcow2", "-a", image))
                .orFail("virt-inspector --key").stdout();
        VirtInspector.parse(xml);
        files.put("inspector.xml", xml);

        List<String> byUuid = List.of("--key", fixture.rootLuksUuid() + ":key:" + LuksFixture.ROOT_KEY,
                "--key", fixture.dataLuksUuid() + ":key:" + LuksFixture.DATA_KEY);
        files.put("log.txt", VirtTool.run(limit, cmd("virt-log", byUuid, "--format=qcow2", "-a", image))
                .orFail("virt-log --key").stdout());

        Path sysprep = Images.sparseCopy(fixture.image(), work.resolve("virt-sysprep-luks.qcow2"));
        VirtTool.run(limit, cmd("virt-sysprep", byDevice(), "--format", "qcow2", "-a", sysprep.toString(),
                "--operations", String.join(",", SYSPREP_OPS))).orFail("virt-sysprep --key");
        files.put("sysprep.tree", GuestTreeFiles.text(
                GuestTree.read(List.of(sysprep), fixture.keysByDevice()).get("debian")));

        Path copyIn = Images.sparseCopy(fixture.image(), work.resolve("virt-sparsify-in.qcow2"));
        Path copyOut = work.resolve("virt-sparsify-out.qcow2");
        VirtTool.Result copy = VirtTool.run(limit, cmd("virt-sparsify", byDevice(), "--format", "qcow2",
                copyIn.toString(), copyOut.toString()));
        files.put("sparsify-copy.json", json(new SparsifyRun("copy", copy.exitCode(), messages(copy),
                Images.allocated(copyIn), Files.exists(copyOut) ? Images.allocated(copyOut) : 0)));

        Path inPlace = Images.sparseCopy(fixture.image(), work.resolve("virt-sparsify-in-place.qcow2"));
        long before = Images.allocated(inPlace);
        VirtTool.Result in = VirtTool.run(limit, cmd("virt-sparsify", byDevice(), "--in-place", "--format", "qcow2",
                inPlace.toString()));
        files.put("sparsify-in-place.json", json(new SparsifyRun("in-place", in.exitCode(), messages(in), before,
                Images.allocated(inPlace))));

        Properties uuids = new Properties();
        uuids.setProperty("root", fixture.rootLuksUuid());
        uuids.setProperty("data", fixture.dataLuksUuid());
        var text = new java.io.StringWriter();
        uuids.store(text, "LUKS UUIDs of the fixture build these files came from");
        files.put("luks.properties", text.toString());
        return files;
    }

    /** stdout and stderr lines of a virt tool without the elapsed-time prefix ({@code [  60.5] }). */
    private static List<String> messages(VirtTool.Result r) {
        List<String> out = new ArrayList<>();
        for (String line : (r.stdout() + "\n" + r.stderr()).split("\n")) {
            String l = line.replaceFirst("^\\[\\s*[0-9.]+\\]\\s*", "").strip();
            if (!l.isEmpty() && !l.startsWith("libguestfs: trace")) {
                out.add(l);
            }
        }
        return out;
    }

    private static String json(Object o) throws IOException {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n";
    }
}
