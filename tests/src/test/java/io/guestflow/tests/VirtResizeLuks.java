package io.guestflow.tests;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import com.redhat.et.libguestfs.Partition;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The oracle for resizing an encrypted guest without keys: virt-resize 1.48 on
 * {@link LuksFixture}, growing the disk, expanding the LUKS partition (LVM on
 * LUKS), growing the partition of the PV that holds the LUKS LV (LUKS on LVM)
 * and that LV. virt-resize has no {@code --key}: it sees both containers as
 * content it does not know, copies them byte for byte and grows neither what
 * is inside nor the container itself (the guest's cryptsetup and resize2fs do
 * that at its next boot). The golden file ({@link Oracles}, folder
 * {@code virt-resize-luks/}, made by {@code make oracles ORACLES=virtResizeLuks})
 * keeps what {@link ResizeObservation} sees, UUIDs by origin; the bytes of the
 * first MiB that differ from the input's (the LUKS fixture's MBR signature is
 * not fixed, so no hash of it); for each partition whether its bytes are the
 * input's; and virt-resize's summary. Before writing it, the regeneration
 * checks that virt-resize's output still opens with the keys and holds every
 * file of the input.
 */
final class VirtResizeLuks {
    static final String FOLDER = "virt-resize-luks";
    static final String FILE = "luks-expand.json";
    static final String SIZE = "+256M";
    static final List<String> ARGS = List.of("--expand", LuksFixture.ROOT_PART, "--resize", "/dev/sda3=+64M",
            "--lv-expand", LuksFixture.DATA_LV);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    /**
     * What virt-resize's output was, against its input.
     *
     * @param headChanges the bytes of the first MiB that differ from the input's, {@code offset:in>out} (hex)
     * @param copiedAsIs  per output partition, whether its first bytes (as many as the input partition had) are the
     *                    input partition's
     * @param summary     virt-resize's summary and progress lines, without timestamps
     */
    record Golden(String size, List<String> args, List<String> table, Map<String, String> facts,
                  Map<String, String> inputFacts, List<String> headChanges, Map<String, Boolean> copiedAsIs,
                  List<String> summary) {
    }

    /** What one launch saw on the input and an output: facts, and every file behind the keys. */
    record Seen(ResizeObservation.Disk input, ResizeObservation.Disk output, Map<String, String> inputFiles,
                Map<String, String> outputFiles) {
    }

    private VirtResizeLuks() {
    }

    static String recipe() {
        return "luks-v" + LuksFixture.RECIPE;
    }

    static Golden golden() {
        try {
            Golden g = JSON.readValue(Oracles.read(FOLDER, recipe(), FILE), Golden.class);
            if (!g.size().equals(SIZE) || !g.args().equals(ARGS)) {
                throw new AssertionError("the golden output was made with " + g.size() + " " + g.args()
                        + ", the scenario now says " + SIZE + " " + ARGS + ": run `make oracles ORACLES=virtResizeLuks`");
            }
            return g;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs virt-resize on a copy of the current fixture and observes it: the golden file. */
    static Map<String, String> regenerate(Path work) throws IOException {
        LuksFixture.Built fixture = LuksFixture.ensure();
        Path input = fixture.image();
        Path out = work.resolve("virt-resize-luks.qcow2");
        VirtTool.run(Duration.ofMinutes(1), "qemu-img", "create", "-q", "-f", "qcow2", out.toString(),
                Long.toString(VirtResize.outputSize(input, SIZE))).orFail("qemu-img create");
        List<String> cmd = new ArrayList<>(List.of(VirtResize.TOOL, "--format", "qcow2", "--output-format", "qcow2"));
        cmd.addAll(ARGS);
        cmd.add(input.toString());
        cmd.add(out.toString());
        VirtTool.Result r = VirtTool.run(Duration.ofMinutes(20), cmd).orFail("virt-resize on the LUKS fixture");
        Seen seen = observe(input, out);
        if (!seen.outputFiles().equals(seen.inputFiles())) {
            throw new IllegalStateException("virt-resize's output, opened with the keys, does not hold the input's files: "
                    + seen.outputFiles() + " against " + seen.inputFiles());
        }
        Golden g = new Golden(SIZE, ARGS, seen.output().table(),
                ResizeObservation.byOrigin(seen.output().facts(), seen.input().facts()),
                ResizeObservation.byOrigin(seen.input().facts(), seen.input().facts()),
                headChanges(input, out), copiedAsIs(input, out, seen), summary(r));
        Files.delete(out);
        return Map.of(FILE, JSON.writeValueAsString(g) + "\n");
    }

    /**
     * One launch, read-only: {@link #observe(GuestFS, String, String)} on {@code input} and {@code output}.
     */
    static Seen observe(Path input, Path output) {
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
             HandlePool.Lease lease = pool.lease("resize-luks-observe")) {
            ApplianceHandle h = lease.launch(List.of(new Drive(input.toUri(), "qcow2", true, null),
                    new Drive(output.toUri(), "qcow2", true, null)), GuestEventListener.NONE);
            return observe(h.gfs(), "/dev/sda", "/dev/sdb");
        } catch (LibGuestFSException e) {
            throw new IllegalStateException("cannot observe the resized LUKS images: " + e.getMessage(), e);
        }
    }

    /**
     * On a launched appliance: {@link ResizeObservation}'s facts on disks {@code input} and {@code output}, then on
     * each its containers opened with the fixture's keys ({@link LuksFixture#readOpened}, one disk at a time: the
     * copy has the input's LVM and LUKS UUIDs) and the checksum of every file of {@code /}, {@code /boot} and
     * {@code /srv}. Leaves every container closed, so other disks can be read after it.
     */
    static Seen observe(GuestFS g, String input, String output) throws LibGuestFSException {
        ResizeObservation.Disk in = ResizeObservation.disk(g, input);
        ResizeObservation.Disk out = ResizeObservation.disk(g, output);
        return new Seen(in, out, filesBehindKeys(g, input), filesBehindKeys(g, output));
    }

    /** {@code disk}'s files behind the keys, and its containers' LUKS UUIDs. */
    private static Map<String, String> filesBehindKeys(GuestFS g, String disk) throws LibGuestFSException {
        return LuksFixture.readOpened(g, disk, opened -> {
            Map<String, String> sums = new TreeMap<>();
            sums.put("/", ResizeObservation.checksums(g));
            sums.put("containers", "root " + g.luks_uuid(disk + "2") + " data " + g.luks_uuid(LuksFixture.DATA_LV));
            return sums;
        });
    }

    /** The bytes of the first MiB that differ between {@code input} and {@code output}, as {@code offset:in>out}. */
    static List<String> headChanges(Path input, Path output) {
        byte[] in = ResizeObservation.head(input);
        byte[] out = ResizeObservation.head(output);
        List<String> changes = new ArrayList<>();
        for (int i = 0; i < Math.max(in.length, out.length); i++) {
            int a = i < in.length ? in[i] & 0xff : -1;
            int b = i < out.length ? out[i] & 0xff : -1;
            if (a != b) {
                changes.add(i + ":" + Integer.toHexString(a) + ">" + Integer.toHexString(b));
            }
        }
        return changes;
    }

    /**
     * Per output partition ({@code part<N>}): whether its first bytes, as many as the input partition of the same
     * number had, are that partition's bytes (read on the host from raw conversions).
     */
    static Map<String, Boolean> copiedAsIs(Path input, Path output, Seen seen) {
        try {
            Path dir = Files.createTempDirectory("resize-luks-raw");
            Path rawIn = dir.resolve("in.raw");
            Path rawOut = dir.resolve("out.raw");
            try {
                for (Path[] p : List.of(new Path[] {input, rawIn}, new Path[] {output, rawOut})) {
                    VirtTool.run(Duration.ofMinutes(5), "qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw",
                            p[0].toString(), p[1].toString()).orFail("qemu-img convert");
                }
                Map<String, Boolean> same = new TreeMap<>();
                Map<Integer, long[]> inParts = ranges(seen.input().table());
                ranges(seen.output().table()).forEach((n, o) -> {
                    long[] i = inParts.get(n);
                    same.put("part" + n, i != null && Images.sha256(rawIn, i[0], i[1]).equals(Images.sha256(rawOut, o[0], i[1])));
                });
                return same;
            } finally {
                io.guestflow.pool.FileTrees.delete(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** "n:start-end" (bytes, inclusive end) to n → {start, length}. */
    private static Map<Integer, long[]> ranges(List<String> table) {
        Map<Integer, long[]> out = new LinkedHashMap<>();
        for (String t : table) {
            String[] a = t.split("[:-]");
            long start = Long.parseLong(a[1]);
            out.put(Integer.parseInt(a[0]), new long[] {start, Long.parseLong(a[2]) - start + 1});
        }
        return out;
    }

    /** virt-resize's stdout and stderr lines without the elapsed-time prefix and the output's path. */
    private static List<String> summary(VirtTool.Result r) {
        List<String> out = new ArrayList<>();
        for (String line : (r.stdout() + "\n" + r.stderr()).split("\n")) {
            String l = line.replaceFirst("^\\[\\s*[0-9.]+\\]\\s*", "").strip();
            if (!l.isEmpty() && !l.startsWith("*") && !l.startsWith("Examining") && !l.startsWith("Setting up")) {
                out.add(l);
            }
        }
        return out;
    }
}
