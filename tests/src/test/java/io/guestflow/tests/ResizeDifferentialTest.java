package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.cli.GuestflowCli;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.pool.RemoteHosts;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.resize.ResizeJobOperation;
import io.guestflow.processors.resize.ResizeReport;
import io.guestflow.tests.ResizeFixtures.Disk;
import io.guestflow.tests.VirtResize.Scenario;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Tag;

/**
 * Differential test of the resize job against virt-resize: the same fixture,
 * the same options, one output each. One observer ({@link ResizeObservation})
 * looks at virt-resize's outputs when {@code make oracles} keeps what it sees
 * as golden files ({@link VirtResize}), and at ours here: the partition
 * tables, every partition's and LV's content (type, label, UUID by origin,
 * device and filesystem sizes), the LVM PVs, VGs and LVs must be the same; the
 * first MiB (boot loader area and partition table) must be byte-identical;
 * every file's checksum must survive; the guest's inspection must be
 * unchanged.
 *
 * <p>Appliance launches: 1 for the fixtures (cold cache only), 3 for our
 * resizes (the LVM one reads its input over NBD), 1 to observe the three
 * inputs and our three outputs.
 */
@Tag("appliance")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResizeDifferentialTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<Scenario, VirtResize.Output> oracle = new LinkedHashMap<>();
    private final Map<Scenario, Path> ours = new LinkedHashMap<>();
    private final Map<Scenario, ResizeReport> reports = new LinkedHashMap<>();
    private final Map<Scenario, Long> ourMillis = new LinkedHashMap<>();
    private Path work;
    private final Map<Scenario, ResizeObservation.Disk> inputSeen = new LinkedHashMap<>();
    private final Map<Scenario, ResizeObservation.Disk> ourSeen = new LinkedHashMap<>();
    private ResizeObservation.Seen seen;
    private List<ProcessHandle> qemuBefore;

    @BeforeAll
    void resizeEverything() throws Exception {
        qemuBefore = Leftovers.qemuChildren();
        ResizeFixtures.dir();
        work = Files.createTempDirectory("resize-diff");
        for (Scenario s : Scenario.values()) {
            oracle.put(s, VirtResize.golden(s));
            Path out = work.resolve(s.name().toLowerCase() + ".qcow2");
            long t0 = System.nanoTime();
            reports.put(s, s == Scenario.MBR_EXPAND ? viaCli(s, out) : viaExecutor(s, out));
            ourMillis.put(s, (System.nanoTime() - t0) / 1_000_000);
            ours.put(s, out);
        }
        List<Path> inputs = new ArrayList<>();
        for (Scenario s : Scenario.values()) {
            inputs.add(ResizeFixtures.image(s.disk));
        }
        seen = ResizeObservation.observe(inputs, new ArrayList<>(ours.values()));
        for (Scenario s : Scenario.values()) {
            inputSeen.put(s, seen.inputs().get(s.ordinal()));
            ourSeen.put(s, seen.outputs().get(s.ordinal()));
        }
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
    void theFixturesAreTheOnesTheGoldenOutputsWereMadeFrom() {
        for (Scenario s : Scenario.values()) {
            assertThat(ResizeObservation.byOrigin(inputSeen.get(s).facts(), inputSeen.get(s).facts()))
                    .as(s + " input, against the input virt-resize was run on").isEqualTo(oracle.get(s).inputFacts());
        }
    }

    @Test
    void partitionsContentLvmAndUuidsAreTheSameAsVirtResizes() {
        for (Scenario s : Scenario.values()) {
            Map<String, String> mine = ResizeObservation.byOrigin(ourSeen.get(s).facts(), inputSeen.get(s).facts());
            assertThat(mine).as(s + ": what the observer sees on our output, against virt-resize's")
                    .isEqualTo(oracle.get(s).facts());
        }
        // the facts are real ones, not two empty maps agreeing
        assertThat(ourSeen.get(Scenario.LVM_EXPAND_LV).facts()).containsKey("lv:rsvg/root.fs-size")
                .containsEntry("lv:rsvg/root.label", "lvroot");
        assertThat(ourSeen.get(Scenario.GPT_EXPAND_RESIZE).facts()).containsEntry("part2.label", "gptroot")
                .containsEntry("part3.vfs", "swap").containsEntry("part3.label", "swp")
                .containsEntry("part4.vfs", "xfs");
        // swap recreated and PV resized, yet the input's identities are kept
        assertThat(oracle.get(Scenario.GPT_EXPAND_RESIZE).facts()).containsEntry("part3.uuid", "=input:part3.uuid");
        assertThat(oracle.get(Scenario.LVM_EXPAND_LV).facts()).containsEntry("part2.pv-uuid", "=input:part2.pv-uuid");
    }

    @Test
    void partitionStartsAndSizesMatchVirtResize() {
        for (Scenario s : Scenario.values()) {
            assertThat(ourSeen.get(s).table()).as(s + " partition table").isEqualTo(oracle.get(s).table());
            // and the report tells the table that was written
            List<String> reported = reports.get(s).outputTable().stream()
                    .map(p -> p.number() + ":" + p.start() + "-" + p.end()).toList();
            assertThat(reported).as(s + " reported table").isEqualTo(ourSeen.get(s).table());
        }
    }

    @Test
    void theContentWasGrown() {
        ResizeReport mbr = reports.get(Scenario.MBR_EXPAND);
        assertThat(mbr.grown()).singleElement().asString().contains("resize2fs");
        assertThat(fsSize(Scenario.MBR_EXPAND, "part2")).isGreaterThan(mbr.plan().source().get(1).content().size());
        ResizeReport lvm = reports.get(Scenario.LVM_EXPAND_LV);
        assertThat(String.join("\n", lvm.grown())).contains("pvresize").contains("/dev/rsvg/root").contains("resize2fs");
        assertThat(fsSize(Scenario.LVM_EXPAND_LV, "lv:rsvg/root"))
                .isGreaterThan(lvm.plan().lvExpansions().get(0).content().size());
        ResizeReport gpt = reports.get(Scenario.GPT_EXPAND_RESIZE);
        assertThat(String.join("\n", gpt.grown())).contains("mkswap").contains("resize2fs").contains("xfs_growfs");
        assertThat(fsSize(Scenario.GPT_EXPAND_RESIZE, "part4")).isGreaterThan(gpt.plan().source().get(3).content().size());
    }

    /** The size a filesystem of our output reports itself (statvfs), not its device's. */
    private long fsSize(Scenario s, String where) {
        String size = ourSeen.get(s).facts().get(where + ".fs-size");
        assertThat(size).as(s + " " + where + " filesystem size").isNotNull();
        return Long.parseLong(size);
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
            byte[] in = ResizeObservation.head(ResizeFixtures.image(s.disk));
            byte[] mine = ResizeObservation.head(ours.get(s));
            assertThat(Arrays.copyOfRange(mine, 0, 446)).as(s + " boot code").isEqualTo(Arrays.copyOfRange(in, 0, 446));
            int loaderStart = s.disk == Disk.GPT ? 17408 : 512;
            assertThat(Arrays.copyOfRange(mine, loaderStart, in.length)).as(s + " boot loader area")
                    .isEqualTo(Arrays.copyOfRange(in, loaderStart, in.length));
            assertThat(HexFormat.of().formatHex(Arrays.copyOf(mine, VirtResize.TABLE_BYTES)))
                    .as(s + " MBR, GPT header and entries against virt-resize's").isEqualTo(oracle.get(s).tableHex());
            assertThat(VirtResize.sha256(mine)).as(s + " first MiB against virt-resize's").isEqualTo(oracle.get(s).headSha256());
        }
    }

    @Test
    void everyFileSurvives() {
        for (Scenario s : Scenario.values()) {
            Map<String, String> input = inputSeen.get(s).checksums();
            assertThat(input).as(s + " input checksums").isNotEmpty();
            assertThat(input.values()).allSatisfy(v -> assertThat(v).isNotBlank());
            // virt-resize's output held the same files when the golden outputs were made (make oracles checks it)
            assertThat(ourSeen.get(s).checksums()).as(s + " files of our output").isEqualTo(input);
        }
    }

    @Test
    void inspectionIsUnchanged() {
        assertThat(seen.mbrInputInspection()).contains("hostname=" + ResizeFixtures.HOSTNAME)
                .contains("distro=debian").contains("/boot=/dev/sda1");
        assertThat(seen.mbrOutputInspection()).isEqualTo(seen.mbrInputInspection());
        VirtResize.Inspection theirs = VirtResize.goldenInspection();
        assertThat(theirs.input()).as("the input virt-resize was run on").isEqualTo(seen.mbrInputInspection());
        assertThat(theirs.output()).isEqualTo(seen.mbrInputInspection());
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

    /**
     * Through the job framework, as the engine runs it. {@link #REMOTE_SOURCE} reads its input over NBD
     * (qemu-nbd on loopback serving the fixture's guest bytes), so that resize from a remote disk is held to the
     * same golden as from a local file, in the same launch count.
     */
    private ResizeReport viaExecutor(Scenario s, Path out) throws Exception {
        ResizeJobOperation op = new ResizeJobOperation();
        PoolConfig config = PoolConfig.defaults().withMaxAppliances(1);
        NbdExport export = null;
        Path nbdLog = null;
        Job.Disk disk = new Job.Disk(ResizeFixtures.image(s.disk).toString(), "qcow2", null);
        if (s == REMOTE_SOURCE) {
            // its log outside work, which must hold the outputs alone (noTemporaryOutputIsLeftBeside)
            nbdLog = Files.createTempFile("resize-qemu-nbd", ".log");
            export = NbdExport.start(ResizeFixtures.image(s.disk), "qcow2", true, "source", nbdLog);
            disk = new Job.Disk(export.uri(), "raw", null);
            config = config.withImages(config.images().withRemoteHosts(RemoteHosts.parse("127.0.0.1")));
        }
        Job job = new Job("resize-" + s.name().toLowerCase(), "resize", List.of(disk),
                new Job.Output(out.toString(), "qcow2"), VirtResize.options(s.size, s.args), 3600, Map.of(), false);
        op.validate(job);
        try (HandlePool pool = new HandlePool(config)) {
            ResizeReport r = (ResizeReport) JobExecutor.execute(pool, op, job, GuestEventListener.NONE, h -> { },
                    new JobExecutor.Attempt());
            if (export != null) {
                assertThat(r.plan().inputSize()).as("the remote input's size, from its probe")
                        .isEqualTo(new io.guestflow.pool.ImageProbe().inspect(ResizeFixtures.image(s.disk), "qcow2", false)
                                .virtualSize());
            }
            return r;
        } finally {
            if (export != null) {
                export.close();
                Files.deleteIfExists(nbdLog);
            }
        }
    }

    /** The scenario whose input is a remote disk (relative size, LVM content grown). */
    private static final Scenario REMOTE_SOURCE = Scenario.LVM_EXPAND_LV;

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
}
