package io.guestflow.processors.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.pool.Drive;
import io.guestflow.pool.FileTrees;
import io.guestflow.processors.JobOperations;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecution;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.job.OperationRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the first launch of a pipeline attaches, prepared without launching
 * (qemu-img only): read-only pipelines attach the disks read-only, pipelines
 * that write in place attach overlays over them, copies attach an overlay;
 * the input is never attached writable, and closing leaves nothing behind.
 */
class PipelineLaunchDrivesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final OperationRegistry registry = JobOperations.defaults();
    private Path dir;
    private Path disk;

    @BeforeEach
    void image() throws Exception {
        dir = Files.createTempDirectory("pipeline-drives");
        disk = dir.resolve("in.qcow2");
        Process p = new ProcessBuilder("qemu-img", "create", "-q", "-f", "qcow2", disk.toString(), "64M").inheritIO().start();
        assertThat(p.waitFor()).isZero();
    }

    @AfterEach
    void cleanUp() throws IOException {
        FileTrees.delete(dir);
    }

    private JobExecution prepare(String steps, String output) throws Exception {
        ObjectNode options = JSON.createObjectNode();
        options.set("steps", JSON.readTree(steps));
        Job job = new Job("drives", "pipeline", List.of(new Job.Disk(disk.toString(), null, null)),
                output == null ? null : new Job.Output(dir.resolve(output).toString(), null), options, 60, Map.of(), false);
        var op = registry.get("pipeline");
        op.validate(job);
        return op.prepare(job, JobExecutor.disksOf(job, op));
    }

    @Test
    void aPipelineOfReadsAttachesTheDisksReadOnly() throws Exception {
        try (JobExecution e = prepare("[{\"type\":\"inspect\"},{\"type\":\"sysprep\",\"options\":{\"dryRun\":true}}]", null)) {
            assertThat(e.drives()).singleElement().satisfies(d -> {
                assertThat(d.readOnly()).isTrue();
                assertThat(d.path()).isEqualTo(disk);
            });
            assertThat(e.ownsBackingChains()).isFalse();
        }
    }

    @Test
    void writingInPlaceGoesThroughAnOverlayWithDiscardWhenATrimIsAmongTheSteps() throws Exception {
        String before = sha(disk);
        Path overlay;
        try (JobExecution e = prepare("[{\"type\":\"inspect\"},{\"type\":\"sysprep\"},{\"type\":\"sparsify\",\"options\":{\"inPlace\":true}}]", null)) {
            Drive d = e.drives().get(0);
            assertThat(e.drives()).hasSize(1);
            assertThat(d.readOnly()).isFalse();
            assertThat(d.path()).isNotEqualTo(disk);
            assertThat(d.discard()).isEqualTo("enable");
            overlay = d.path();
            JsonNode info = info(overlay);
            assertThat(info.path("backing-filename").asText()).isEqualTo(disk.toString());
            assertThat(info.path("cluster-size").asInt()).as("small clusters, so trims are not lost").isEqualTo(1024);
            assertThat(e.ownsBackingChains()).isTrue();
        }
        assertThat(overlay).doesNotExist();
        assertThat(sha(disk)).as("nothing committed without a run").isEqualTo(before);
    }

    @Test
    void aSysprepAloneGetsTheSameOverlayAsASysprepJob() throws Exception {
        try (JobExecution e = prepare("[{\"type\":\"sysprep\"}]", null)) {
            assertThat(e.drives().get(0).discard()).isNull();
            assertThat(info(e.drives().get(0).path()).path("cluster-size").asInt()).isEqualTo(65536);
        }
    }

    @Test
    void aCopyAttachesItsOverlayAndLeavesNoPartialOutput() throws Exception {
        try (JobExecution e = prepare("[{\"type\":\"inspect\"},{\"type\":\"sparsify\"},{\"type\":\"inspect\"}]", "out.qcow2")) {
            Drive d = e.drives().get(0);
            assertThat(d.readOnly()).isFalse();
            assertThat(info(d.path()).path("backing-filename").asText()).isEqualTo(disk.toString());
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("in.qcow2");
        }
    }

    private static JsonNode info(Path image) throws Exception {
        Process p = new ProcessBuilder("qemu-img", "info", "-U", "--output=json", image.toString()).start();
        JsonNode n = JSON.readTree(p.getInputStream());
        p.waitFor();
        return n;
    }

    private static String sha(Path p) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(p)));
    }
}
