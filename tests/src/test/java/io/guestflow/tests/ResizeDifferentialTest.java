package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import com.redhat.et.libguestfs.Partition;
import io.guestflow.cli.GuestflowCli;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.resize.ResizeJobOperation;
import io.guestflow.processors.resize.ResizeReport;
import io.guestflow.tests.ResizeFixtures.Disk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Differential test of the resize job against virt-resize: the same fixture,
 * the same options, one output each. virt-filesystems must list the same
 * partitions, filesystems, sizes, types, labels and UUIDs; the partition
 * tables must have the same starts and sizes and the first MiB (boot loader
 * area and partition table) must be byte-identical; every file's checksum
 * must survive; the guest's inspection must be unchanged.
 *
 * <p>Appliance launches: cold cache 1 (fixtures) + 3 (virt-resize) + 1
 * (virt-filesystems on virt-resize's outputs) + 3 (ours) + 1
 * (virt-filesystems on ours) + 1 (partition tables and checksums of all
 * nine images, inspection of the MBR guest before and after) = 10; warm cache 5.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResizeDifferentialTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TOOL_TIMEOUT = Duration.ofMinutes(20);

    /** One comparison: a fixture, the output size, virt-resize's options and ours (the same). */
    enum Scenario {
        MBR_EXPAND(Disk.MBR, "+128M", List.of("--expand", "/dev/sda2")),
        LVM_EXPAND_LV(Disk.LVM, "+128M", List.of("--expand", "/dev/sda2", "--lv-expand", "/dev/rsvg/root")),
        GPT_EXPAND_RESIZE(Disk.GPT, "+96M", List.of("--expand", "/dev/sda2", "--resize", "/dev/sda3=+8M",
                "--resize", "/dev/sda4=+32M"));

        final Disk disk;
        final String size;
        final List<String> args;

        Scenario(Disk disk, String size, List<String> args) {
            this.disk = disk;
            this.size = size;
            this.args = args;
        }
    }

    private final Map<Scenario, Path> oracle = new LinkedHashMap<>();
    private final Map<Scenario, Path> ours = new LinkedHashMap<>();
    private final Map<Scenario, ResizeReport> reports = new LinkedHashMap<>();
    private final Map<Scenario, Long> ourMillis = new LinkedHashMap<>();
    private Path work;
    private String oracleListing;
    private String ourListing;
    private Observation observed;
    private List<ProcessHandle> qemuBefore;

    @BeforeAll
    void resizeEverything() throws Exception {
        qemuBefore = Leftovers.qemuChildren();
        ResizeFixtures.dir();
        work = Files.createTempDirectory("resize-diff");
        for (Scenario s : Scenario.values()) {
            oracle.put(s, oracleOutput(s));
        }
        oracleListing = cachedListing(new ArrayList<>(oracle.values()));
        for (Scenario s : Scenario.values()) {
            Path out = work.resolve(s.name().toLowerCase() + ".qcow2");
            long t0 = System.nanoTime();
            reports.put(s, s == Scenario.MBR_EXPAND ? viaCli(s, out) : viaExecutor(s, out));
            ourMillis.put(s, (System.nanoTime() - t0) / 1_000_000);
            ours.put(s, out);
        }
        ourListing = listing(new ArrayList<>(ours.values()));
        observed = observe();
    }

    @AfterAll
    void cleanUp() throws IOException {
        if (work != null) {
            FileTrees.delete(work);
        }
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isSubsetOf(qemuBefore);
    }

    // ---------------------------------------------------------------- the assertions

    @Test
    void virtFilesystemsListsTheSamePartitionsFilesystemsSizesLabelsAndUuids() {
        assertThat(ourListing).contains("/dev/rsvg/root").contains("gptroot").contains("swp");
        assertThat(withoutPvDeviceNames(ourListing)).isEqualTo(withoutPvDeviceNames(oracleListing));
    }

    /**
     * The listing with single spaces between fields and the device names of PV rows and of VG rows' parents
     * replaced by "(pv)". virt-filesystems takes those names from pvs_full, which gives the appliance kernel's
     * names: when the kernel enumerates the disks in another order than libguestfs names them, the PV on
     * /dev/sdb2 is listed as /dev/sda2 (seen in CI). Which partition holds which PV is checked by UUID in
     * {@link #everyFileSurvives}.
     */
    static String withoutPvDeviceNames(String listing) {
        StringBuilder out = new StringBuilder();
        for (String line : listing.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 8 && f[1].equals("pv")) {
                f[0] = "(pv)";
            } else if (f.length >= 8 && f[1].equals("vg")) {
                f[6] = f[6].replaceAll("/dev/[a-z]+[0-9]+", "(pv)");
            }
            out.append(String.join(" ", f)).append('\n');
        }
        return out.toString();
    }

    @Test
    void partitionStartsAndSizesMatchVirtResize() {
        for (Scenario s : Scenario.values()) {
            assertThat(observed.tables.get(ours.get(s))).as(s + " partition table")
                    .isEqualTo(observed.tables.get(oracle.get(s)));
            // and the report tells the table that was written
            List<String> reported = reports.get(s).outputTable().stream()
                    .map(p -> p.number() + ":" + p.start() + "-" + p.end()).toList();
            assertThat(reported).as(s + " reported table").isEqualTo(observed.tables.get(ours.get(s)));
        }
    }

    @Test
    void theContentWasGrown() {
        ResizeReport mbr = reports.get(Scenario.MBR_EXPAND);
        assertThat(mbr.grown()).singleElement().asString().contains("resize2fs");
        // ours are listed together: MBR is /dev/sda, LVM /dev/sdb, GPT /dev/sdc
        assertThat(fsSize(ourListing, "/dev/sda2")).isGreaterThan(mbr.plan().source().get(1).content().size());
        ResizeReport lvm = reports.get(Scenario.LVM_EXPAND_LV);
        assertThat(String.join("\n", lvm.grown())).contains("pvresize").contains("/dev/rsvg/root").contains("resize2fs");
        assertThat(fsSize(ourListing, "/dev/rsvg/root")).isGreaterThan(lvm.plan().lvExpansions().get(0).content().size());
        ResizeReport gpt = reports.get(Scenario.GPT_EXPAND_RESIZE);
        assertThat(String.join("\n", gpt.grown())).contains("mkswap").contains("resize2fs").contains("xfs_growfs");
        assertThat(fsSize(ourListing, "/dev/sdc4")).isGreaterThan(gpt.plan().source().get(3).content().size());
    }

    /** The Size column of a filesystem's line in virt-filesystems --long output. */
    private static long fsSize(String listing, String device) {
        for (String line : listing.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 6 && f[0].equals(device) && f[1].equals("filesystem")) {
                return Long.parseLong(f[5]);
            }
        }
        throw new AssertionError(device + " is not in the listing:\n" + listing);
    }

    @Test
    void noTemporaryOutputIsLeftBeside() throws IOException {
        try (var files = Files.list(work)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("gpt_expand_resize.qcow2", "lvm_expand_lv.qcow2", "mbr_expand.qcow2");
        }
    }

    @Test
    void bootLoaderAreaAndPartitionTableAreByteIdenticalToVirtResizes() throws Exception {
        for (Scenario s : Scenario.values()) {
            byte[] in = head(ResizeFixtures.image(s.disk));
            byte[] mine = head(ours.get(s));
            byte[] theirs = head(oracle.get(s));
            assertThat(Arrays.copyOfRange(mine, 0, 446)).as(s + " boot code").isEqualTo(Arrays.copyOfRange(in, 0, 446));
            int loaderStart = s.disk == Disk.GPT ? 17408 : 512;
            assertThat(Arrays.copyOfRange(mine, loaderStart, in.length)).as(s + " boot loader area")
                    .isEqualTo(Arrays.copyOfRange(in, loaderStart, in.length));
            assertThat(mine).as(s + " first MiB against virt-resize's").isEqualTo(theirs);
        }
    }

    @Test
    void everyFileSurvives() {
        for (Scenario s : Scenario.values()) {
            Map<String, String> input = observed.checksums.get(ResizeFixtures.image(s.disk));
            assertThat(input).as(s + " input checksums").isNotEmpty();
            assertThat(input.values()).allSatisfy(v -> assertThat(v).isNotBlank());
            assertThat(observed.checksums.get(ours.get(s))).as(s + " files of our output").isEqualTo(input);
            assertThat(observed.checksums.get(oracle.get(s))).as(s + " files of virt-resize's output").isEqualTo(input);
        }
    }

    @Test
    void inspectionIsUnchanged() {
        assertThat(observed.inspections.get("mbr-input")).contains("hostname=" + ResizeFixtures.HOSTNAME)
                .contains("distro=debian").contains("/boot=/dev/sda1");
        assertThat(observed.inspections.get("mbr-ours")).isEqualTo(observed.inspections.get("mbr-input"));
        assertThat(observed.inspections.get("mbr-virt-resize")).isEqualTo(observed.inspections.get("mbr-input"));
    }

    @Test
    void reportsPlanSizesAndTimings() {
        ResizeReport r = reports.get(Scenario.GPT_EXPAND_RESIZE);
        assertThat(r.dryRun()).isFalse();
        assertThat(r.plan().partitionTable()).isEqualTo("gpt");
        assertThat(r.plan().outputSize()).isEqualTo(r.plan().inputSize() + 96L * 1024 * 1024);
        assertThat(r.plan().source()).hasSize(4);
        assertThat(r.plan().target()).extracting(t -> t.operation().name())
                .containsExactly("COPY", "RESIZE", "RESIZE", "RESIZE");
        assertThat(r.plan().target().get(0).gptType()).isEqualTo(ResizeFixtures.EFI_TYPE);
        assertThat(r.plan().target().get(0).gptAttributes()).isEqualTo(1L);
        assertThat(r.timings().copyMillis()).isPositive();
        System.out.printf("resize timings (ours, whole job incl. launch): %s%n", ourMillis);
    }

    // ---------------------------------------------------------------- running both tools

    private Path oracleOutput(Scenario s) throws IOException {
        Path input = ResizeFixtures.image(s.disk);
        String key = VirtTool.key("resize", ResizeFixtures.RECIPE, VirtTool.version("virt-resize"), Fixtures.sha256(input),
                s.size, String.join(" ", s.args));
        Path dir = Fixtures.cacheRoot().resolve("oracle").resolve("virt-resize");
        Files.createDirectories(dir);
        Path out = dir.resolve(key + ".qcow2");
        if (Files.isRegularFile(out)) {
            return out;
        }
        Path tmp = dir.resolve(key + ".tmp-" + ProcessHandle.current().pid() + ".qcow2");
        try {
            VirtTool.run(Duration.ofMinutes(1), "qemu-img", "create", "-q", "-f", "qcow2", tmp.toString(),
                    Long.toString(outputSize(input, s.size))).orFail("qemu-img create");
            List<String> cmd = new ArrayList<>(List.of("virt-resize", "--format", "qcow2", "--output-format", "qcow2"));
            cmd.addAll(s.args);
            cmd.add(input.toString());
            cmd.add(tmp.toString());
            long t0 = System.nanoTime();
            VirtTool.run(TOOL_TIMEOUT, cmd).orFail("virt-resize " + s);
            System.out.printf("virt-resize %s: %d ms%n", s, (System.nanoTime() - t0) / 1_000_000);
            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return out;
    }

    private static long outputSize(Path input, String relative) {
        long in = new io.guestflow.pool.ImageProbe().inspect(input, "qcow2", false).virtualSize();
        return io.guestflow.processors.resize.Sizes.diskSize(in, relative);
    }

    /** Our options for a scenario: the same as virt-resize's arguments, as a job's JSON options. */
    private static ObjectNode options(Scenario s) {
        ObjectNode o = JSON.createObjectNode().put("size", s.size);
        for (int i = 0; i < s.args.size(); i += 2) {
            String v = s.args.get(i + 1);
            switch (s.args.get(i)) {
                case "--expand" -> o.put("expand", v);
                case "--resize" -> o.withArray("resize").add(v);
                case "--lv-expand" -> o.withArray("lvExpand").add(v);
                default -> throw new IllegalArgumentException(s.args.get(i));
            }
        }
        return o;
    }

    /** Through the job framework, as the engine runs it. */
    private ResizeReport viaExecutor(Scenario s, Path out) {
        ResizeJobOperation op = new ResizeJobOperation();
        Job job = new Job("resize-" + s.name().toLowerCase(), "resize",
                List.of(new Job.Disk(ResizeFixtures.image(s.disk).toString(), "qcow2", null)),
                new Job.Output(out.toString(), "qcow2"), options(s), 3600, Map.of(), false);
        op.validate(job);
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1))) {
            return (ResizeReport) JobExecutor.execute(pool, op, job, GuestEventListener.NONE, h -> { }, new JobExecutor.Attempt());
        }
    }

    /** Through bin/guestflow's command line, in-process. */
    private ResizeReport viaCli(Scenario s, Path out) throws IOException {
        List<String> args = new ArrayList<>(List.of("resize", "--size", s.size, "--output-format", "qcow2"));
        args.addAll(s.args);
        args.add(ResizeFixtures.image(s.disk).toString());
        args.add(out.toString());
        // picocli's writer, not System.out: the test JVM's stdout is surefire's channel to Maven
        java.io.StringWriter captured = new java.io.StringWriter();
        picocli.CommandLine cl = GuestflowCli.commandLine();
        cl.setOut(new java.io.PrintWriter(captured, true));
        int exit = cl.execute(args.toArray(String[]::new));
        assertThat(exit).as("bin/guestflow " + String.join(" ", args)).isZero();
        JsonNode json = JSON.readTree(captured.toString());
        return new ObjectMapper().findAndRegisterModules().treeToValue(json, ResizeReport.class);
    }

    // ---------------------------------------------------------------- observing the images

    /** virt-filesystems over several images of different fixtures at once (one launch). */
    private static String listing(List<Path> images) {
        List<String> cmd = new ArrayList<>(List.of("virt-filesystems", "--all", "--long", "--uuid", "--format=qcow2"));
        for (Path p : images) {
            cmd.add("-a");
            cmd.add(p.toString());
        }
        return VirtTool.run(TOOL_TIMEOUT, cmd).orFail("virt-filesystems").stdout();
    }

    private static String cachedListing(List<Path> images) throws IOException {
        List<String> parts = new ArrayList<>(List.of("virt-filesystems", VirtTool.version("virt-filesystems")));
        images.forEach(p -> parts.add(p.getFileName().toString())); // names are content keys already
        Path file = Fixtures.cacheRoot().resolve("oracle").resolve("virt-resize")
                .resolve(VirtTool.key(parts.toArray(String[]::new)) + ".filesystems.txt");
        if (Files.isRegularFile(file)) {
            return Files.readString(file);
        }
        String out = listing(images);
        Path tmp = Files.createTempFile(file.getParent(), "listing", ".tmp");
        Files.writeString(tmp, out);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        return out;
    }

    /** The first MiB of an image, read on the host with qemu-img. */
    private byte[] head(Path image) throws IOException {
        Path raw = Files.createTempFile(work, "head", ".raw");
        Files.delete(raw);
        VirtTool.run(Duration.ofMinutes(1), "qemu-img", "dd", "-f", "qcow2", "-O", "raw", "bs=512", "count=2048",
                "if=" + image, "of=" + raw).orFail("qemu-img dd");
        byte[] b = Files.readAllBytes(raw);
        Files.delete(raw);
        return b;
    }

    /** Partition tables, file checksums and inspection of every image, in one launch. */
    private record Observation(Map<Path, List<String>> tables, Map<Path, Map<String, String>> checksums,
                               Map<String, String> inspections) {
    }

    private Observation observe() throws Exception {
        List<Path> images = new ArrayList<>();
        for (Scenario s : Scenario.values()) {
            images.add(ResizeFixtures.image(s.disk));
            images.add(oracle.get(s));
            images.add(ours.get(s));
        }
        Map<Path, List<String>> tables = new LinkedHashMap<>();
        Map<Path, Map<String, String>> sums = new LinkedHashMap<>();
        Map<String, String> inspections = new LinkedHashMap<>();
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
             HandlePool.Lease lease = pool.lease("resize-observe")) {
            List<Drive> drives = images.stream().map(p -> new Drive(p.toUri(), "qcow2", true, null)).toList();
            ApplianceHandle h = lease.launch(drives, GuestEventListener.NONE);
            GuestFS g = h.gfs();
            for (int i = 0; i < images.size(); i++) {
                String dev = "/dev/sd" + (char) ('a' + i);
                List<String> table = new ArrayList<>();
                for (Partition p : g.part_list(dev)) {
                    table.add(p.part_num + ":" + p.part_start + "-" + p.part_end);
                }
                tables.put(images.get(i), table);
                sums.put(images.get(i), checksums(g, dev));
            }
            // inspection of the MBR guest, before and after (one pass: it mounts every filesystem of the nine
            // disks). Its fstab names /dev/sda1, so every clone maps the same; roots are told apart by device.
            // No VG is visible to LVM here: an inspection pass with a clone of the LVM guest's VG shown
            // did not finish within 10 minutes on this machine.
            g.lvm_set_filter(new String[]{"/dev/sda"});
            Map<String, String> roots = inspectAll(g);
            inspections.put("mbr-input", roots.get("/dev/sda2"));
            inspections.put("mbr-ours", roots.get("/dev/sdc2"));
            inspections.put("mbr-virt-resize", roots.get("/dev/sdb2"));
        }
        return new Observation(tables, sums, inspections);
    }

    /** "path sha256" lines of every filesystem on one disk, keyed by partition number or LV name. */
    private Map<String, String> checksums(GuestFS g, String disk) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        for (Partition p : g.part_list(disk)) {
            String dev = disk + p.part_num;
            String type = g.vfs_type(dev);
            if (type.equals("LVM2_member")) {
                g.lvm_set_filter(new String[]{disk}); // this disk's VG only: clones share its name and UUIDs
                g.vg_activate_all(true);
                out.put("part" + p.part_num + "-pv", g.pvuuid(dev)); // the same PV on the same partition
                for (String lv : g.lvs()) {
                    out.put(lv, sums(g, lv));
                }
            } else if (!type.isEmpty() && !type.equals("swap") && !type.equals("unknown")) {
                out.put("part" + p.part_num + "-" + type, sums(g, dev));
            }
        }
        return out;
    }

    private String sums(GuestFS g, String dev) throws Exception {
        Path f = Files.createTempFile(work, "sums", ".txt");
        g.mount_ro(dev, "/");
        try {
            g.checksums_out("sha256", "/", f.toString());
        } finally {
            g.umount("/");
        }
        List<String> lines = new ArrayList<>(Files.readAllLines(f));
        Files.delete(f);
        lines.sort(null);
        return String.join("\n", lines);
    }

    /** What inspection says about each root (sizes excluded: they are what a resize changes). */
    private static Map<String, String> inspectAll(GuestFS g) throws LibGuestFSException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String root : g.inspect_os()) {
            Map<String, String> mps = new java.util.TreeMap<>(g.inspect_get_mountpoints(root));
            out.put(root, "type=" + g.inspect_get_type(root) + " distro=" + g.inspect_get_distro(root)
                    + " version=" + g.inspect_get_major_version(root) + "." + g.inspect_get_minor_version(root)
                    + " product=" + g.inspect_get_product_name(root) + " arch=" + g.inspect_get_arch(root)
                    + " hostname=" + g.inspect_get_hostname(root) + " mountpoints=" + mps);
        }
        return out;
    }
}
