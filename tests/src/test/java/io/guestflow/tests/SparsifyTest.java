package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.redhat.et.libguestfs.GuestFS;
import io.guestflow.cli.GuestflowCli;
import io.guestflow.config.GuestflowConfig;
import io.guestflow.engine.Engine;
import io.guestflow.kafka.Partitions;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.processors.job.ByteRanges;
import io.guestflow.processors.job.ImageMap;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.JobOperations;
import io.guestflow.processors.pipeline.PipelineReport;
import io.guestflow.processors.sparsify.SparsifyJobOperation;
import io.guestflow.processors.sparsify.SparsifyReport;
import io.guestflow.processors.sparsify.SparsifyReport.Action;
import io.guestflow.processors.sparsify.SparsifyReport.Filesystem;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Properties;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Tag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * sparsify on real appliances against virt-sparsify on the same fixture
 * ({@link SparsifyFixture}: dirty free space, already sparse areas, lazily
 * initialised ext4, xfs, LVM, swap), both modes on both input formats, and the
 * pipeline's in-place step. In place, the image must never grow, must end up
 * no larger than virt-sparsify leaves it (+1 %), and may hold no block it did
 * not hold before except LVM metadata (the temporary LV that clears the VG's
 * free extents makes LVM write it); every file keeps its checksum.
 *
 * <p>Launches: copy mode on the qcow2 image (bin/guestflow's command) and on
 * its raw conversion; in place on the qcow2 image (a job through Kafka and
 * the engine) and on the raw one; a pipeline whose in-place sparsify step runs
 * on an overlay committed into a raw image; one read-only launch that checks
 * the files and swap areas of all five results; the encrypted-disk refusal
 * and the killed appliance. On a cold cache also the fixture build. The times
 * logged are wall times of runs that share the machine with the other test
 * JVM ({@code bench/sparsify-vs-virt} times one run alone).
 */
@Tag("appliance")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SparsifyTest {
    private static final Logger LOG = LoggerFactory.getLogger(SparsifyTest.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> FORMATS = List.of("qcow2", "raw");
    /** The LVM PV's first MiB: its label and metadata area, the one place in-place sparsify may allocate. */
    private static final ByteRanges LVM_METADATA = ByteRanges.of(SparsifyFixture.P4, SparsifyFixture.P4 + (1L << 20));

    private SparsifyFixture.Built fixture;
    private Path work;
    private HandlePool pool;

    /** Copy mode, per input format: the input, its checksum, the output, the report, the time. */
    private final Map<String, Path> copyInput = new TreeMap<>();
    private final Map<String, String> copyInputSha = new TreeMap<>();
    private final Map<String, Path> copyOut = new TreeMap<>();
    private final Map<String, SparsifyReport> copyReport = new TreeMap<>();
    private final Map<String, Long> copyMillis = new TreeMap<>();

    /** An in-place run: the image and what it held before. */
    private record InPlace(String name, String format, Path image, long before, ByteRanges blocksBefore,
                           ByteRanges clustersBefore, long l2Before, SparsifyReport report, long millis) {
        InPlace done(SparsifyReport r, long ms) {
            return new InPlace(name, format, image, before, blocksBefore, clustersBefore, l2Before, r, ms);
        }
    }

    /** In place per format (the job), and the pipeline's in-place step on a raw image. */
    private final Map<String, InPlace> inPlace = new TreeMap<>();
    private InPlace pipeline;
    /** The encrypted disk: what refusing it threw, and its checksum before and after. */
    private GuestflowException luksRefusal;
    private String[] luksSha;

    /** What the read-only check launch found in each result: files per filesystem, swap label and UUID. */
    private final Map<Path, SparsifyFixture.Manifest> seen = new java.util.LinkedHashMap<>();

    @BeforeAll
    void runBothModesOnBothFormats() throws Exception {
        fixture = SparsifyFixture.ensure();
        work = Files.createTempDirectory("sparsify-test");
        pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
        // one after another: run side by side (measured), they slowed the other test JVM's classes by as much as
        // they saved here
        copyModeOnBothFormats();
        pipelineInPlaceStepOnRaw();
        inPlaceOnBothFormats();
        sparsifyEncryptedDisk();
        readResults();
    }

    /** bin/guestflow's sparsify command, per input format; its JSON report is what it prints. */
    private void copyModeOnBothFormats() throws Exception {
        for (String format : FORMATS) {
            Path in = format.equals("qcow2") ? fixture.image(SparsifyFixture.A)
                    : VirtSparsify.input(fixture, SparsifyFixture.A, format, work);
            copyInput.put(format, in);
            copyInputSha.put(format, Fixtures.sha256(in));
            Path out = work.resolve("a-sparse." + format);
            long t = System.nanoTime();
            StringWriter printed = new StringWriter();
            // through picocli's writer: the report alone, whatever else writes to System.out
            int exit = GuestflowCli.commandLine().setOut(new PrintWriter(printed, true))
                    .execute("sparsify", in.toString(), out.toString());
            copyMillis.put(format, (System.nanoTime() - t) / 1_000_000);
            assertThat(exit).as("guestflow sparsify exit code (%s)", format).isZero();
            copyOut.put(format, out);
            copyReport.put(format, JSON.readValue(printed.toString(), SparsifyReport.class));
        }
    }

    /** In place on qcow2 as a job through Kafka and the engine, and on raw directly. */
    private void inPlaceOnBothFormats() throws Exception {
        InPlace q = measured("job", "qcow2");
        String id = "sparsify-in-place-test";
        long t = System.nanoTime();
        JsonNode result = submitThroughKafka(id, "{\"jobId\":\"" + id + "\",\"type\":\"sparsify\","
                + "\"disks\":[{\"uri\":\"" + q.image().toUri() + "\",\"format\":\"qcow2\"}],\"options\":{\"inPlace\":true}}");
        long millis = (System.nanoTime() - t) / 1_000_000;
        assertThat(result.path("status").asText()).as(result.toString()).isEqualTo("SUCCEEDED");
        inPlace.put("qcow2", q.done(JSON.treeToValue(result.path("output"), SparsifyReport.class), millis));

        InPlace r = measured("job", "raw");
        t = System.nanoTime();
        Object report = JobExecutor.execute(pool, new SparsifyJobOperation(), job("sparsify-in-place-raw", "sparsify", r.image(),
                JSON.createObjectNode().put("inPlace", true)), GuestEventListener.NONE, h -> { }, new JobExecutor.Attempt());
        inPlace.put("raw", r.done((SparsifyReport) report, (System.nanoTime() - t) / 1_000_000));
    }

    /** The pipeline's in-place sparsify step, on an overlay committed into a raw image. */
    private void pipelineInPlaceStepOnRaw() throws Exception {
        InPlace p = measured("pipeline", "raw");
        ObjectNode options = JSON.createObjectNode();
        options.putArray("steps").addObject().put("type", "sparsify").putObject("options").put("inPlace", true);
        long t = System.nanoTime();
        PipelineReport piped = (PipelineReport) JobExecutor.execute(pool, JobOperations.defaults().get("pipeline"),
                job("sparsify-pipeline-raw", "pipeline", p.image(), options), GuestEventListener.NONE, h -> { },
                new JobExecutor.Attempt());
        assertThat(piped.launches()).singleElement().satisfies(l -> {
            assertThat(l.mode()).isEqualTo("in-place");
            assertThat(l.outcome()).isEqualTo("committed");
        });
        pipeline = p.done(JSON.convertValue(piped.steps().get(0).output(), SparsifyReport.class), (System.nanoTime() - t) / 1_000_000);
    }

    private static Job job(String id, String type, Path disk, ObjectNode options) {
        return new Job(id, type, List.of(new Job.Disk(disk.toString(), null, null)), null, options, 1800, Map.of(), false);
    }

    /** A fresh in-place input (fixture image B in {@code format}), measured before the run. */
    private InPlace measured(String name, String format) {
        Path image = VirtSparsify.input(fixture, SparsifyFixture.B, format, work);
        return new InPlace(name, format, image, Images.allocated(image), Images.blocks(image),
                ImageMap.read(image, format).hostSpace(), format.equals("qcow2") ? Images.qcow2L2Tables(image) : 0, null, 0);
    }

    /** The in-place job as users send it: a JSON job on the jobs topic of a real broker, the result from the results topic. */
    private JsonNode submitThroughKafka(String jobId, String json) throws Exception {
        Map<String, String> props = new HashMap<>();
        props.put("guestflow.engine.image-root", work.toString());
        props.put("guestflow.engine.output-root", Files.createDirectories(work.resolve("out")).toString());
        props.put("guestflow.engine.data-dir", work.resolve("kafka").toString());
        props.put("guestflow.engine.management-port", "0");
        props.put("guestflow.engine.tmp-root", work.resolve("tmp").toString());
        try (TestBroker broker = TestBroker.start();
             Engine engine = Engine.start(GuestflowConfig.engine(props, Map.of()).withPool(PoolConfig.defaults().withMaxAppliances(1))
                     .withBootstrapServers(broker.bootstrapServers()))) {
            Map<String, Object> client = new HashMap<>(Engine.clientProps(engine.config()));
            try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(client, new StringSerializer(), new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>(engine.config().topics().jobs(), jobId, json.getBytes(StandardCharsets.UTF_8))).get();
            }
            Properties rp = new Properties();
            rp.putAll(client);
            rp.put("enable.auto.commit", "false");
            try (KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(rp, new StringDeserializer(), new ByteArrayDeserializer())) {
                List<TopicPartition> parts = Partitions.of(reader, engine.config().topics().results());
                reader.assign(parts);
                reader.seekToBeginning(parts);
                long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();
                while (System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(500))) {
                        if (jobId.equals(r.key())) {
                            return JSON.readTree(r.value());
                        }
                    }
                }
                throw new AssertionError("no result for " + jobId + " within 15 minutes");
            }
        }
    }

    /**
     * One read-only launch over all five results. Copies of one guest share VG names, so LVM is shown one disk
     * at a time.
     */
    private void readResults() throws Exception {
        List<Path> results = new ArrayList<>(copyOut.values());
        inPlace.values().forEach(r -> results.add(r.image()));
        results.add(pipeline.image());
        try (HandlePool.Lease lease = pool.lease("sparsify-check")) {
            ApplianceHandle h = lease.launch(results.stream().map(p -> Drive.of(p.toString())).toList(), GuestEventListener.NONE);
            GuestFS g = h.gfs();
            String[] disks = g.list_devices();
            for (int i = 0; i < results.size(); i++) {
                g.lvm_set_filter(new String[] {disks[i]});
                String vg = g.vgs()[0];
                seen.put(results.get(i), seen(g, disks[i], vg));
            }
        }
    }

    private static SparsifyFixture.Manifest seen(GuestFS g, String disk, String vg) throws Exception {
        Map<String, Map<String, String>> files = new TreeMap<>();
        for (String[] fs : new String[][] {{"part1", disk + "1"}, {"xfs", disk + "3"}, {"root", "/dev/" + vg + "/root"}}) {
            g.mount_ro(fs[1], "/");
            files.put(fs[0], SparsifyFixture.checksums(g));
            g.umount_all();
        }
        Map<String, List<String>> swaps = new TreeMap<>();
        swaps.put("part2", List.of(g.vfs_label(disk + "2"), g.vfs_uuid(disk + "2")));
        swaps.put("lvswap", List.of(g.vfs_label("/dev/" + vg + "/swap"), g.vfs_uuid("/dev/" + vg + "/swap")));
        return new SparsifyFixture.Manifest(files, swaps);
    }

    @AfterAll
    void cleanUp() throws Exception {
        if (pool != null) {
            pool.close();
        }
        FileTrees.delete(work);
    }

    @Test
    void copyOutputIsNoLargerThanVirtSparsifysOutputPlusOnePercent() {
        for (String format : FORMATS) {
            VirtSparsify.Run oracle = VirtSparsify.copy(format);
            long ours = Images.allocated(copyOut.get(format));
            LOG.info("copy mode, {}: input {} B allocated; ours {} B in {} ms; virt-sparsify {} B in {} ms", format,
                    oracle.allocatedBefore(), ours, copyMillis.get(format), oracle.allocatedAfter(), oracle.millis());
            assertThat(ours).as(format).isLessThanOrEqualTo(oracle.allocatedAfter() + oracle.allocatedAfter() / 100);
            // and the deleted random data is really gone: far below the input
            assertThat(ours).as(format).isLessThan(Images.allocated(copyInput.get(format)) / 2);
            SparsifyReport report = copyReport.get(format);
            assertThat(report.output().allocatedSize()).isEqualTo(ours);
            assertThat(report.output().format()).as("the input's format").isEqualTo(format);
            assertThat(report.reclaimedBytes()).isEqualTo(report.input().allocatedSize() - ours);
        }
    }

    @Test
    void copyModeNeverWritesItsInputAndLeavesNoTemporaryFiles() throws Exception {
        for (String format : FORMATS) {
            assertThat(Fixtures.sha256(copyInput.get(format))).as("input of copy mode, " + format)
                    .isEqualTo(copyInputSha.get(format));
        }
        try (Stream<Path> s = Files.list(work)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".part"));
        }
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            assertThat(s.map(p -> p.getFileName().toString())).as("overlays and swap headers")
                    .noneMatch(n -> n.startsWith("guestflow-sparsify-") || n.startsWith("guestflow-swap"));
        }
    }

    @Test
    void inPlaceNeverGrowsAndReclaimsWhatVirtSparsifyReclaims() {
        for (InPlace run : runs()) {
            VirtSparsify.Run oracle = VirtSparsify.inPlace(run.format());
            long after = Images.allocated(run.image());
            LOG.info("in place ({}, {}): before {} B; ours after {} B in {} ms; virt-sparsify after {} B in {} ms, "
                    + "allocating {} B where the image held nothing", run.name(), run.format(), run.before(), after,
                    run.millis(), oracle.allocatedAfter(), oracle.millis(), oracle.allocatedNew());
            String what = run.name() + ", " + run.format();
            // the same image copied the same way; a block or two of host extent metadata may differ
            assertThat(oracle.allocatedBefore()).as("%s: both start from the same allocation", what)
                    .isCloseTo(run.before(), org.assertj.core.api.Assertions.within(64L << 10));
            assertThat(after).as(what).isLessThanOrEqualTo(run.before());
            assertThat(after).as("%s: the deleted data is gone", what).isLessThan(run.before() - (100L << 20));
            assertThat(after).as(what).isLessThanOrEqualTo(oracle.allocatedAfter() + oracle.allocatedAfter() / 100);
            assertThat(run.report().output().allocatedSize()).isEqualTo(after);
            assertThat(run.report().input().allocatedSize()).isEqualTo(run.before());
        }
    }

    /**
     * Stronger than "never grows", which reclaimed space could hide: where the image held nothing, we allocate
     * no more than virt-sparsify --in-place does on the same input (its golden {@code allocatedNew}), outside the
     * LVM metadata area, which LVM rewrites in blocks of 128 KiB when the temporary LV comes and goes. Not
     * nothing at all: a read-write mount writes its journal or log (measured: 16 KiB of xfs log in a region the
     * fixture held as a hole; virt-sparsify allocates 72-124 KiB there), while the writes this guards against
     * are far larger (lazy inode-table init: about 1 MiB per 200 MB ext4; swap recreated; L2 tables).
     */
    @Test
    void inPlaceAllocatesNoMoreNewSpaceThanVirtSparsify() {
        for (InPlace run : runs()) {
            String what = run.name() + ", " + run.format();
            long oracleNew = VirtSparsify.inPlace(run.format()).allocatedNew();
            ByteRanges newClusters = ImageMap.read(run.image(), run.format()).hostSpace().minus(run.clustersBefore());
            assertThat(newClusters.minus(LVM_METADATA.roundOut(SparsifyFixture.QCOW2_CLUSTER)).total())
                    .as("%s: guest bytes newly allocated outside the LVM metadata: %s", what, newClusters)
                    .isLessThanOrEqualTo(oracleNew);
            if (run.format().equals("raw")) {
                assertThat(Images.blocks(run.image()).minus(run.blocksBefore()).minus(LVM_METADATA).total())
                        .as("%s: new blocks of the file", what).isLessThanOrEqualTo(oracleNew);
            } else {
                assertThat(Images.qcow2L2Tables(run.image())).as("%s: L2 tables", what).isLessThanOrEqualTo(run.l2Before());
            }
        }
    }

    @Test
    void everyFileKeepsItsChecksum() {
        assertThat(seen).hasSize(5);
        seen.forEach((image, found) -> assertThat(found.files()).as(image.toString()).isEqualTo(fixture.manifest().files()));
        assertThat(fixture.manifest().files()).containsOnlyKeys("part1", "xfs", "root");
        assertThat(fixture.manifest().files().get("root")).containsKey("/home/alice/photo.raw");
        assertThat(fixture.manifest().files().get("xfs")).containsKey("/srv/keep.bin");
    }

    @Test
    void swapAreasKeepLabelAndUuid() {
        assertThat(fixture.manifest().swaps()).containsEntry("part2", List.of("swappart", SparsifyFixture.SWAP_PART_UUID))
                .containsEntry("lvswap", List.of("swaplv", SparsifyFixture.SWAP_LV_UUID));
        seen.forEach((image, found) -> assertThat(found.swaps()).as(image.toString()).isEqualTo(fixture.manifest().swaps()));
    }

    @Test
    void reportSaysWhatWasDonePerFilesystemAndVolumeGroup() {
        String vgA = SparsifyFixture.vgOf(SparsifyFixture.A);
        for (String format : FORMATS) {
            SparsifyReport copy = copyReport.get(format);
            Map<String, Filesystem> fs = byDevice(copy);
            assertThat(copy.mode()).isEqualTo("copy");
            assertThat(fs.keySet()).containsExactly("/dev/sda1", "/dev/sda2", "/dev/sda3", "/dev/" + vgA + "/root",
                    "/dev/" + vgA + "/swap");
            assertThat(fs.get("/dev/sda1").action()).isEqualTo(Action.TRIMMED);
            assertThat(fs.get("/dev/sda1").freeBytes()).as("the deleted 50 MiB file is free space").isGreaterThan(50L << 20);
            assertThat(fs.get("/dev/sda3").type()).isEqualTo("xfs");
            assertThat(fs.get("/dev/sda3").action()).isEqualTo(Action.TRIMMED);
            assertThat(fs.get("/dev/sda2").action()).isEqualTo(Action.SWAP_RECREATED);
            assertThat(fs.get("/dev/" + vgA + "/swap").action()).as("copy mode does not look at the input's allocation")
                    .isEqualTo(Action.SWAP_RECREATED);
            assertThat(copy.volumeGroups()).singleElement().satisfies(vg -> {
                assertThat(vg.name()).isEqualTo(vgA);
                assertThat(vg.freeBytes()).isGreaterThan(40L << 20);
            });
        }

        String vgB = SparsifyFixture.vgOf(SparsifyFixture.B);
        for (InPlace run : runs()) {
            String what = run.name() + ", " + run.format();
            Map<String, Filesystem> ip = byDevice(run.report());
            assertThat(run.report().mode()).isEqualTo("in-place");
            assertThat(ip.get("/dev/" + vgB + "/root").action()).as(what).isEqualTo(Action.TRIMMED);
            assertThat(ip.get("/dev/sda2").action()).as("%s: the dirty swap partition", what).isEqualTo(Action.SWAP_RECREATED);
            assertThat(ip.get("/dev/" + vgB + "/swap").action()).as("%s: the swap LV holds nothing but its header", what)
                    .isEqualTo(Action.ALREADY_SPARSE);
            assertThat(run.report().volumeGroups()).singleElement().satisfies(vg ->
                    assertThat(vg.action()).as(what).isEqualTo("discarded"));
            if (run.name().equals("job")) {
                // measured on the host file during the run; a pipeline's input only changes at its commit
                assertThat(ip.get("/dev/" + vgB + "/root").reclaimedBytes()).as("%s: the deleted 40 MiB file", what)
                        .isGreaterThan(30L << 20);
                assertThat(ip.get("/dev/sda1").reclaimedBytes()).as("%s: the deleted 50 MiB file", what).isGreaterThan(40L << 20);
                assertThat(ip.get("/dev/sda3").reclaimedBytes()).as("%s: the deleted 20 MiB file", what).isGreaterThan(15L << 20);
                assertThat(run.report().volumeGroups().get(0).reclaimedBytes()).as(what).isGreaterThan(40L << 20);
                ip.values().stream().filter(f -> f.reclaimedBytes() != null).forEach(f ->
                        assertThat(f.reclaimedBytes()).as("%s: %s never grew the image", what, f.device()).isNotNegative());
            }
        }
    }

    /** In place on a disk whose first partition is LUKS: the refusal and the image's checksums before and after. */
    private void sparsifyEncryptedDisk() throws Exception {
        Path luks = Images.sparseCopy(fixture.image(SparsifyFixture.LUKS), work.resolve("luks.qcow2"));
        luksSha = new String[] {Fixtures.sha256(luks), null};
        Job job = new Job("sparsify-luks", "sparsify", List.of(new Job.Disk(luks.toString(), null, null)), null,
                JSON.createObjectNode().put("inPlace", true), 600, Map.of(), false);
        luksRefusal = catchThrowableOfType(() -> JobExecutor.execute(pool, new SparsifyJobOperation(), job,
                GuestEventListener.NONE, h -> { }, new JobExecutor.Attempt()), GuestflowException.class);
        luksSha[1] = Fixtures.sha256(luks);
    }

    @Test
    void encryptedFilesystemIsRefusedWithoutTouchingTheImage() {
        GuestflowException e = luksRefusal;
        assertThat(e).isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.OPERATION_FAILED);
        assertThat(e.getMessage()).contains("/dev/sda1").contains("encrypted").contains("crypto_LUKS").contains("ignore");
        assertThat(e.retryable()).isFalse();
        assertThat(luksSha[1]).as("the encrypted image after the refusal").isEqualTo(luksSha[0]);
    }

    @Test
    void killedApplianceLeavesNoOutputNoOverlayAndAnUntouchedInput() throws Exception {
        Path tmp = Files.createDirectories(work.resolve("killed-tmp"));
        Path outDir = Files.createDirectories(work.resolve("killed-out"));
        // 1 s after launch the watchdog kills the appliance in the middle of the job
        Path inputA = copyInput.get("qcow2");
        Job job = new Job("sparsify-killed", "sparsify", List.of(new Job.Disk(inputA.toString(), null, null)),
                new Job.Output(outDir.resolve("a.qcow2").toString(), null),
                JSON.createObjectNode().put("tmpDir", tmp.toString()), 1, Map.of(), false);
        List<ProcessHandle> qemuBefore = Leftovers.qemuChildren();
        GuestflowException e = catchThrowableOfType(() -> JobExecutor.execute(pool, new SparsifyJobOperation(), job,
                GuestEventListener.NONE, h -> { }, new JobExecutor.Attempt()), GuestflowException.class);
        assertThat(e).isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.TIMEOUT);
        try (Stream<Path> out = Files.list(outDir); Stream<Path> t = Files.list(tmp)) {
            assertThat(out.toList()).as("output folder").isEmpty();
            assertThat(t.toList()).as("overlay folder").isEmpty();
        }
        assertThat(Leftovers.qemuChildren()).isSubsetOf(qemuBefore);
        assertThat(Fixtures.sha256(inputA)).isEqualTo(copyInputSha.get("qcow2"));
    }

    private List<InPlace> runs() {
        List<InPlace> all = new ArrayList<>(inPlace.values());
        all.add(pipeline);
        return all;
    }

    private static Map<String, Filesystem> byDevice(SparsifyReport r) {
        Map<String, Filesystem> m = new java.util.LinkedHashMap<>();
        r.filesystems().forEach(f -> m.put(f.device(), f));
        return m;
    }
}
