package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.pool.FileTrees;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.processors.resize.ResizeJobOperation;
import io.guestflow.tests.ResizeFixtures.Disk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Tag;

/**
 * The resize job type through Kafka on a real broker: a dry run returns the
 * plan and writes nothing; an impossible plan is REJECTED with its reason
 * before any output exists. Two appliance launches (the plan needs the
 * source's partitions); the option checks need none.
 */
@Tag("appliance")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResizeJobTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path work;
    private Path outRoot;
    private TestEngine engine;

    @BeforeAll
    void start() throws Exception {
        work = Files.createTempDirectory("guestflow-resize-job");
        outRoot = work.resolve("out");
        engine = TestEngine.start(ResizeFixtures.dir(), work);
    }

    @AfterAll
    void stop() throws Exception {
        if (engine != null) {
            engine.close();
        }
        FileTrees.delete(work);
    }

    private JsonNode submit(String jobId, String options) throws Exception {
        String job = "{\"jobId\":\"" + jobId + "\",\"type\":\"resize\",\"disks\":[{\"uri\":\""
                + ResizeFixtures.image(Disk.MBR).toUri() + "\",\"format\":\"qcow2\"}],"
                + "\"output\":{\"uri\":\"" + outRoot.resolve(jobId + ".qcow2").toUri() + "\",\"format\":\"qcow2\"},"
                + "\"options\":" + options + "}";
        return engine.run(jobId, job, Duration.ofMinutes(15));
    }

    private List<String> outputs() throws Exception {
        try (Stream<Path> s = Files.list(outRoot)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    @Test
    void anImpossiblePlanIsRejectedBeforeTheOutputExists() throws Exception {
        String before = Fixtures.sha256(ResizeFixtures.image(Disk.MBR));
        JsonNode r = submit("resize-too-small", "{\"expand\":\"/dev/sda2\",\"size\":\"-8M\"}");
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("REJECTED");
        assertThat(r.path("error").path("message").asText()).contains("no surplus space").contains("larger by at least");
        assertThat(r.path("error").path("retryable").asBoolean()).isFalse();
        assertThat(outputs()).as("no output, no temporary output").isEmpty();
        assertThat(Fixtures.sha256(ResizeFixtures.image(Disk.MBR))).as("input untouched").isEqualTo(before);
    }

    @Test
    void aDryRunReturnsThePlanAndWritesNothing() throws Exception {
        JsonNode r = submit("resize-dry", "{\"expand\":\"/dev/sda2\",\"size\":\"+128M\",\"dryRun\":true}");
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("SUCCEEDED");
        JsonNode out = r.path("output");
        assertThat(out.path("dryRun").asBoolean()).isTrue();
        assertThat(out.has("outputTable")).isFalse();
        JsonNode plan = out.path("plan");
        assertThat(plan.path("outputSize").asLong()).isEqualTo(plan.path("inputSize").asLong() + 128L * 1024 * 1024);
        assertThat(plan.path("target").get(0).path("operation").asText()).isEqualTo("COPY");
        assertThat(plan.path("target").get(0).path("bootable").asBoolean()).isTrue();
        assertThat(plan.path("target").get(1).path("operation").asText()).isEqualTo("RESIZE");
        assertThat(plan.path("target").get(1).path("expandMethod").asText()).isEqualTo("resize2fs");
        assertThat(outputs()).isEmpty();
    }

    @Test
    void optionsAreCheckedWithoutAnAppliance() throws Exception {
        Path input = work.resolve("in.qcow2");
        ResizeJobOperation op = new ResizeJobOperation();
        assertThatThrownBy(() -> op.validate(job(input, null, "{\"expand\":\"/dev/sda2\"}")))
                .isInstanceOf(JobRejectedException.class).hasMessageContaining("needs an output");
        assertThatThrownBy(() -> op.validate(job(input, input, "{}")))
                .isInstanceOf(JobRejectedException.class).hasMessageContaining("never writes in place");
        assertThatThrownBy(() -> op.validate(job(input, work.resolve("o.img"), "{\"expand\":\"a\",\"shrink\":\"b\"}")))
                .isInstanceOf(JobRejectedException.class).hasMessageContaining("together");
        assertThatThrownBy(() -> op.validate(job(input, work.resolve("o.img"), "{\"outputFormat\":\"raw\"}")))
                .isInstanceOf(JobRejectedException.class).hasMessageContaining("disagree");
    }

    private static Job job(Path input, Path output, String options) throws Exception {
        return new Job("resize-opts", "resize", List.of(new Job.Disk(input.toString(), "qcow2", null)),
                output == null ? null : new Job.Output(output.toString(), "qcow2"), (ObjectNode) JSON.readTree(options),
                600, Map.of(), false);
    }
}
