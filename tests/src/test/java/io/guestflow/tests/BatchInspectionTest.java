package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.pool.FileTrees;
import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.samples.SampleGuests.Image;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Batched inspection through Kafka never changes an answer. Six inspect jobs
 * produced together reach one consumer in one poll: a guest without an OS,
 * the multi-boot guest whose fstab says /dev/sda1 and /dev/sda2, the Debian
 * LVM guest and a byte copy of it (same VG name, PV and filesystem UUIDs),
 * the two-disk Ubuntu guest, and a corrupt image. Each guest's result must
 * equal the result of inspecting that guest alone: fact by fact against
 * virt-inspector run on the guest alone (the oracle outputs that
 * {@link InspectDifferentialTest} compares our lone inspection with, cached
 * by image content), and, for the two-disk guest whose second disk is renamed
 * in the shared appliance, byte for byte against the same job run alone on
 * the same engine.
 *
 * <p>Launches: 1 shared by the batch, 3 for the guests the batch sends alone
 * (both clones; the multi-boot guest, whose /dev/sda1 would be another
 * guest's disk), 1 for the two-disk guest's job alone; the corrupt image is
 * refused before any launch. virt-inspector launches once per guest when its
 * cache is cold.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchInspectionTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofMinutes(25);

    private Path work;
    private TestEngine engine;
    private final Map<String, Path> guests = new LinkedHashMap<>();
    private final Map<String, VirtInspector.Run> oracles = new LinkedHashMap<>();
    private JsonNode aloneMultidisk;
    private Map<String, JsonNode> batched;
    private long batchLaunches;

    @BeforeAll
    void runBatchAndReferences() throws Exception {
        Fixtures.images();
        work = Files.createTempDirectory("guestflow-batch-test-");
        Path images = Files.createDirectories(work.resolve("images"));
        for (Image i : List.of(Image.BLANK_EXT4, Image.MULTIBOOT, Image.DEBIAN_LVM, Image.MULTIDISK_ROOT, Image.MULTIDISK_HOME)) {
            Files.copy(Fixtures.image(i), images.resolve(i.fileName));
        }
        Files.copy(Fixtures.image(Image.DEBIAN_LVM), images.resolve("debian-lvm-clone.qcow2"));
        byte[] garbage = new byte[1 << 20];
        new Random(9).nextBytes(garbage);
        Files.write(images.resolve("corrupt.qcow2"), garbage);

        // one partition keeps the jobs in the order produced: the multi-boot guest is not the batch's first
        engine = TestEngine.start(images, work, Map.of("guestflow.engine.inspect-batch-size", "8",
                "guestflow.engine.job-partitions", "1"));
        Map<String, String> jobs = new LinkedHashMap<>();
        jobs.put("blank", job("batch-blank", images.resolve(Image.BLANK_EXT4.fileName)));
        jobs.put("multiboot", job("batch-multiboot", images.resolve(Image.MULTIBOOT.fileName)));
        jobs.put("debian", job("batch-debian", images.resolve(Image.DEBIAN_LVM.fileName)));
        jobs.put("debian-clone", job("batch-debian-clone", images.resolve("debian-lvm-clone.qcow2")));
        jobs.put("multidisk", job("batch-multidisk", images.resolve(Image.MULTIDISK_ROOT.fileName),
                images.resolve(Image.MULTIDISK_HOME.fileName)));
        jobs.put("corrupt", job("batch-corrupt", images.resolve("corrupt.qcow2")));

        long before = engine.engine().pool().metrics().launches();
        Map<String, String> byId = new LinkedHashMap<>();
        jobs.forEach((name, json) -> byId.put("batch-" + name, json));
        engine.submitAll(byId);
        Map<String, JsonNode> results = engine.awaitResults(byId.keySet(), TIMEOUT);
        batchLaunches = engine.engine().pool().metrics().launches() - before;
        batched = new LinkedHashMap<>();
        results.forEach((id, r) -> batched.put(id.substring("batch-".length()), r));

        // the two-disk guest's job alone (a lone job in its poll runs as usual): the JSON a user gets either way
        aloneMultidisk = engine.run("alone-multidisk", jobs.get("multidisk").replace("\"batch-multidisk\"",
                "\"alone-multidisk\""), TIMEOUT);
        oracles.put("blank", VirtInspector.inspect(images.resolve(Image.BLANK_EXT4.fileName)));
        oracles.put("multiboot", VirtInspector.inspect(images.resolve(Image.MULTIBOOT.fileName)));
        oracles.put("debian", VirtInspector.inspect(images.resolve(Image.DEBIAN_LVM.fileName)));
        oracles.put("debian-clone", VirtInspector.inspect(images.resolve("debian-lvm-clone.qcow2")));
        oracles.put("multidisk", VirtInspector.inspect(images.resolve(Image.MULTIDISK_ROOT.fileName),
                images.resolve(Image.MULTIDISK_HOME.fileName)));
    }

    @AfterAll
    void stop() throws Exception {
        if (engine != null) {
            engine.close();
        }
        if (work != null) {
            FileTrees.delete(work);
        }
    }

    private static String job(String jobId, Path... disks) throws Exception {
        ObjectNode job = JSON.createObjectNode().put("jobId", jobId).put("type", "inspect");
        ArrayNode ds = job.putArray("disks");
        for (Path d : disks) {
            ds.addObject().put("uri", d.toUri().toString()).put("format", "qcow2");
        }
        job.put("timeoutSeconds", 1200);
        return JSON.writeValueAsString(job);
    }

    @Test
    void everyBatchedResultEqualsTheResultOfInspectingThatGuestAlone() throws Exception {
        assertThat(batched.keySet()).containsExactlyInAnyOrder("blank", "multiboot", "debian", "debian-clone",
                "multidisk", "corrupt");
        for (Map.Entry<String, VirtInspector.Run> e : oracles.entrySet()) {
            String name = e.getKey();
            JsonNode b = batched.get(name);
            assertThat(b.path("status").asText()).as(name + " status; result %s", b).isEqualTo("SUCCEEDED");
            assertThat(e.getValue().exitCode()).as("virt-inspector on %s: %s", name, e.getValue().stderr()).isZero();
            InspectDifferentialTest.assertSameFacts(JSON.treeToValue(b.path("output"), InspectionReport.class),
                    e.getValue().report());
        }
        // the JSON a user gets is the same as from the job run alone, apart from timings and batch metadata
        JsonNode b = batched.get("multidisk");
        assertThat(b.path("output")).isEqualTo(aloneMultidisk.path("output"));
        assertThat(b.path("status")).isEqualTo(aloneMultidisk.path("status"));
        // the answers are real ones, not two empty lists agreeing
        assertThat(batched.get("debian").path("output").path("operatingSystems").get(0).path("hostname").asText())
                .isEqualTo("web01");
        assertThat(batched.get("debian-clone").path("output")).isEqualTo(batched.get("debian").path("output"));
        assertThat(batched.get("multiboot").path("output").path("operatingSystems")).hasSize(2);
        assertThat(batched.get("multidisk").path("output").path("operatingSystems").get(0).path("mountpoints")
                .findValuesAsText("device")).containsExactly("/dev/sda1", "/dev/sdb1");
        assertThat(batched.get("blank").path("output").path("operatingSystems")).isEmpty();
        assertThat(batched.get("corrupt").path("status").asText()).isEqualTo("REJECTED");
        assertThat(batched.get("corrupt").path("error").path("message").asText()).isNotBlank();
    }

    @Test
    void guestsThatCannotShareAreInspectedAloneAndEachResultSaysHowItRan() {
        // five guests shared the launch (the corrupt image was refused before it)
        for (String name : List.of("blank", "multidisk")) {
            assertThat(batched.get(name).path("batch").path("shared").asBoolean()).as(name).isTrue();
            assertThat(batched.get(name).path("batch").path("guests").asInt()).as(name).isEqualTo(5);
        }
        assertThat(batched.get("debian").path("batch").path("shared").asBoolean()).isFalse();
        assertThat(batched.get("debian").path("batch").path("ranAloneBecause").asText())
                .contains("is also on another guest of the batch");
        assertThat(batched.get("debian-clone").path("batch").path("ranAloneBecause").asText())
                .contains("is also on another guest of the batch");
        assertThat(batched.get("multiboot").path("batch").path("ranAloneBecause").asText())
                .contains("fstab names /dev/sda");
        assertThat(batched.get("corrupt").path("batch").path("ranAloneBecause").asText())
                .startsWith("its disks cannot be attached");
        // jobs that ran on their own appliance as usual carry no batch metadata
        assertThat(aloneMultidisk.has("batch")).isFalse();
        // one shared launch, then the two clones and the multi-boot guest alone; none for the corrupt image
        assertThat(batchLaunches).isEqualTo(4);
    }
}
