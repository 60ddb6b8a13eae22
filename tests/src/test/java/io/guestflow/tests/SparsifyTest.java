package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.sparsify.SparsifyJobOperation;
import io.guestflow.processors.sparsify.SparsifyReport;
import io.guestflow.processors.sparsify.SparsifyReport.Action;
import io.guestflow.processors.sparsify.SparsifyReport.Filesystem;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 * sparsify on real appliances against virt-sparsify on the same fixture.
 * Launches: our copy mode (through bin/guestflow's command), our in-place
 * mode (a job through Kafka and the engine), one read-only launch that
 * checks the files and swap areas of both results, the encrypted-disk
 * refusal and the killed appliance; plus, on a cold cache, the fixture build
 * and virt-sparsify copy and in-place.
 */
@Tag("appliance")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SparsifyTest {
    private static final Logger LOG = LoggerFactory.getLogger(SparsifyTest.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private SparsifyFixture.Built fixture;
    private Path work;
    private HandlePool pool;

    private Path inputA;
    private String inputASha;
    private Path copyOut;
    private SparsifyReport copyReport;
    private long copyMillis;

    private Path inPlaceImage;
    private long inPlaceBefore;
    private SparsifyReport inPlaceReport;
    private long inPlaceMillis;

    /** What the read-only check launch found in each result: files per filesystem, swap label and UUID. */
    private SparsifyFixture.Manifest copySeen;
    private SparsifyFixture.Manifest inPlaceSeen;

    @BeforeAll
    void runBothModes() throws Exception {
        fixture = SparsifyFixture.ensure();
        work = Files.createTempDirectory("sparsify-test");
        pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));

        inputA = fixture.image(SparsifyFixture.A);
        inputASha = Fixtures.sha256(inputA);
        copyOut = work.resolve("a-sparse.qcow2");
        long t = System.nanoTime();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        int exit;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            exit = GuestflowCli.commandLine().execute("sparsify", inputA.toString(), copyOut.toString());
        } finally {
            System.setOut(saved);
        }
        copyMillis = (System.nanoTime() - t) / 1_000_000;
        assertThat(exit).as("guestflow sparsify exit code").isZero();
        copyReport = JSON.readValue(out.toString(StandardCharsets.UTF_8), SparsifyReport.class);

        inPlaceImage = Images.sparseCopy(fixture.image(SparsifyFixture.B), work.resolve("b-in-place.qcow2"));
        inPlaceBefore = Images.allocated(inPlaceImage);
        t = System.nanoTime();
        JsonNode result = submitThroughKafka("sparsify-in-place-test", "{\"jobId\":\"sparsify-in-place-test\",\"type\":\"sparsify\","
                + "\"disks\":[{\"uri\":\"" + inPlaceImage.toUri() + "\",\"format\":\"qcow2\"}],\"options\":{\"inPlace\":true}}");
        inPlaceMillis = (System.nanoTime() - t) / 1_000_000;
        assertThat(result.path("status").asText()).as(result.toString()).isEqualTo("SUCCEEDED");
        inPlaceReport = JSON.treeToValue(result.path("output"), SparsifyReport.class);

        readResults();
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

    /** One read-only launch over both results: their VG names differ (A and B were built apart). */
    private void readResults() throws Exception {
        try (HandlePool.Lease lease = pool.lease("sparsify-check")) {
            ApplianceHandle h = lease.launch(List.of(Drive.of(copyOut.toString()), Drive.of(inPlaceImage.toString())),
                    GuestEventListener.NONE);
            GuestFS g = h.gfs();
            copySeen = seen(g, "/dev/sda", SparsifyFixture.vgOf(SparsifyFixture.A));
            inPlaceSeen = seen(g, "/dev/sdb", SparsifyFixture.vgOf(SparsifyFixture.B));
        }
    }

    private static SparsifyFixture.Manifest seen(GuestFS g, String disk, String vg) throws Exception {
        Map<String, Map<String, String>> files = new TreeMap<>();
        g.mount_ro(disk + "1", "/");
        files.put("part1", SparsifyFixture.checksums(g));
        g.umount_all();
        g.mount_ro("/dev/" + vg + "/root", "/");
        files.put("root", SparsifyFixture.checksums(g));
        g.umount_all();
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
        VirtSparsify.Run oracle = VirtSparsify.copy();
        long ours = Images.allocated(copyOut);
        LOG.info("copy mode: input {} B allocated; ours {} B in {} ms; virt-sparsify {} B in {} ms",
                oracle.allocatedBefore(), ours, copyMillis, oracle.allocatedAfter(), oracle.millis());
        assertThat(ours).isLessThanOrEqualTo(oracle.allocatedAfter() + oracle.allocatedAfter() / 100);
        // and the deleted random data is really gone: far below the input
        assertThat(ours).isLessThan(Images.allocated(inputA) / 2);
        assertThat(copyReport.output().allocatedSize()).isEqualTo(ours);
        assertThat(copyReport.output().format()).isEqualTo("qcow2");
        assertThat(copyReport.reclaimedBytes()).isEqualTo(copyReport.input().allocatedSize() - ours);
    }

    @Test
    void copyModeNeverWritesItsInputAndLeavesNoTemporaryFiles() throws Exception {
        assertThat(Fixtures.sha256(inputA)).as("input of copy mode").isEqualTo(inputASha);
        try (Stream<Path> s = Files.list(work)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".part"));
        }
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            assertThat(s.map(p -> p.getFileName().toString())).as("overlays").noneMatch(n -> n.startsWith("guestflow-sparsify-"));
        }
    }

    @Test
    void inPlaceReclaimsSpaceLikeVirtSparsify() {
        VirtSparsify.Run oracle = VirtSparsify.inPlace();
        long after = Images.allocated(inPlaceImage);
        LOG.info("in-place: before {} B; ours after {} B in {} ms; virt-sparsify after {} B in {} ms",
                inPlaceBefore, after, inPlaceMillis, oracle.allocatedAfter(), oracle.millis());
        // the same image copied the same way; a block or two of host extent metadata may differ
        assertThat(oracle.allocatedBefore()).as("both start from the same allocation")
                .isCloseTo(inPlaceBefore, org.assertj.core.api.Assertions.within(64L << 10));
        assertThat(after).isLessThan(inPlaceBefore - (100L << 20));
        assertThat(after).isLessThanOrEqualTo(oracle.allocatedAfter() + oracle.allocatedAfter() / 100);
        assertThat(inPlaceReport.output().allocatedSize()).isEqualTo(after);
        assertThat(inPlaceReport.input().allocatedSize()).isEqualTo(inPlaceBefore);
    }

    @Test
    void everyFileKeepsItsChecksum() {
        assertThat(copySeen.files()).isEqualTo(fixture.manifest().files());
        assertThat(inPlaceSeen.files()).isEqualTo(fixture.manifest().files());
        assertThat(fixture.manifest().files().get("root")).containsKey("/home/alice/photo.raw");
    }

    @Test
    void swapAreasKeepLabelAndUuid() {
        assertThat(fixture.manifest().swaps()).containsEntry("part2", List.of("swappart", SparsifyFixture.SWAP_PART_UUID))
                .containsEntry("lvswap", List.of("swaplv", SparsifyFixture.SWAP_LV_UUID));
        assertThat(copySeen.swaps()).isEqualTo(fixture.manifest().swaps());
        assertThat(inPlaceSeen.swaps()).isEqualTo(fixture.manifest().swaps());
    }

    @Test
    void reportSaysWhatWasDonePerFilesystemAndVolumeGroup() {
        String vgA = SparsifyFixture.vgOf(SparsifyFixture.A);
        Map<String, Filesystem> fs = byDevice(copyReport);
        assertThat(copyReport.mode()).isEqualTo("copy");
        assertThat(fs.keySet()).containsExactly("/dev/sda1", "/dev/sda2", "/dev/" + vgA + "/root", "/dev/" + vgA + "/swap");
        assertThat(fs.get("/dev/sda1").action()).isEqualTo(Action.TRIMMED);
        assertThat(fs.get("/dev/sda1").freeBytes()).as("the deleted 70 MiB file is free space").isGreaterThan(70L << 20);
        assertThat(fs.get("/dev/sda2").action()).isEqualTo(Action.SWAP_RECREATED);
        assertThat(fs.get("/dev/" + vgA + "/swap").action()).isEqualTo(Action.SWAP_RECREATED);
        assertThat(copyReport.volumeGroups()).singleElement().satisfies(vg -> {
            assertThat(vg.name()).isEqualTo(vgA);
            assertThat(vg.freeBytes()).isGreaterThan(50L << 20);
        });

        String vgB = SparsifyFixture.vgOf(SparsifyFixture.B);
        Map<String, Filesystem> ip = byDevice(inPlaceReport);
        assertThat(inPlaceReport.mode()).isEqualTo("in-place");
        assertThat(ip.get("/dev/" + vgB + "/root").action()).isEqualTo(Action.TRIMMED);
        assertThat(ip.get("/dev/" + vgB + "/root").reclaimedBytes()).as("the deleted 60 MiB file")
                .isGreaterThan(50L << 20);
        assertThat(ip.get("/dev/sda1").reclaimedBytes()).as("the deleted 70 MiB file").isGreaterThan(60L << 20);
        assertThat(inPlaceReport.volumeGroups().get(0).reclaimedBytes()).isGreaterThan(40L << 20);
    }

    @Test
    void encryptedFilesystemIsRefusedWithoutTouchingTheImage() throws Exception {
        Path luks = Images.sparseCopy(fixture.image(SparsifyFixture.LUKS), work.resolve("luks.qcow2"));
        String before = Fixtures.sha256(luks);
        Job job = new Job("sparsify-luks", "sparsify", List.of(new Job.Disk(luks.toString(), null, null)), null,
                JSON.createObjectNode().put("inPlace", true), 600, Map.of(), false);
        GuestflowException e = catchThrowableOfType(() -> JobExecutor.execute(pool, new SparsifyJobOperation(), job,
                GuestEventListener.NONE, h -> { }, new JobExecutor.Attempt()), GuestflowException.class);
        assertThat(e).isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.OPERATION_FAILED);
        assertThat(e.getMessage()).contains("/dev/sda1").contains("encrypted").contains("crypto_LUKS").contains("ignore");
        assertThat(e.retryable()).isFalse();
        assertThat(Fixtures.sha256(luks)).isEqualTo(before);
    }

    @Test
    void killedApplianceLeavesNoOutputNoOverlayAndAnUntouchedInput() throws Exception {
        Path tmp = Files.createDirectories(work.resolve("killed-tmp"));
        Path outDir = Files.createDirectories(work.resolve("killed-out"));
        // 1 s after launch the watchdog kills the appliance in the middle of the job
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
        assertThat(Fixtures.sha256(inputA)).isEqualTo(inputASha);
    }

    private static Map<String, Filesystem> byDevice(SparsifyReport r) {
        Map<String, Filesystem> m = new java.util.LinkedHashMap<>();
        r.filesystems().forEach(f -> m.put(f.device(), f));
        return m;
    }
}
