package io.guestflow.processors.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.guestflow.processors.JobOperations;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobParser;
import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.processors.job.OperationRegistry;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Pipelines are judged whole before anything runs; a bad step is named by its index and type. */
class PipelineValidationTest {
    private final OperationRegistry registry = JobOperations.defaults();
    private final JobParser parser = new JobParser(registry);

    private Job parse(String steps, String output) {
        String json = "{\"jobId\":\"p1\",\"type\":\"pipeline\",\"disks\":[{\"uri\":\"/images/a.qcow2\"}],"
                + (output == null ? "" : "\"output\":{\"uri\":\"" + output + "\"},")
                + "\"options\":{\"steps\":" + steps + "}}";
        return parser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private String rejection(String steps, String output) {
        return catchThrowableOfType(() -> parse(steps, output), JobRejectedException.class).reason();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "[]|a pipeline needs options.steps",
        "{}|a pipeline needs options.steps",
        "[\"inspect\"]|steps[0] must be an object",
        "[{\"options\":{}}]|steps[0].type is required",
        "[{\"type\":\"inspect\",\"opts\":{}}]|steps[0]: unknown field 'opts'",
        "[{\"type\":\"inspect\",\"options\":[]}]|steps[0].options must be an object",
        "[{\"type\":\"defrag\"}]|steps[0]: 'defrag' is not a step type",
        "[{\"type\":\"pipeline\",\"options\":{\"steps\":[{\"type\":\"inspect\"}]}}]|steps[0]: 'pipeline' is not a step type",
        "[{\"type\":\"inspect\"},{\"type\":\"inspect\",\"options\":{\"applications\":\"yes\"}}]|steps[1] (inspect): option 'applications' must be true or false",
        "[{\"type\":\"inspect\"},{\"type\":\"sysprep\",\"options\":{\"operations\":\"no-such-op\"}}]|steps[1] (sysprep):",
        "[{\"type\":\"sparsify\",\"options\":{\"inPlace\":true,\"compress\":true}}]|steps[0] (sparsify): option 'compress' is for copy mode",
        "[{\"type\":\"inspect\"},{\"type\":\"sparsify\",\"options\":{\"inPlace\":\"yes\"}}]|steps[1] (sparsify): option 'inPlace' must be true or false",
        "[{\"type\":\"journal\",\"options\":{\"colour\":1}}]|steps[0] (journal):",
        "[{\"type\":\"resize\",\"options\":{\"size\":\"huge\"}}]|steps[0] (resize):",
    })
    void invalidStepsRejectTheWholeJob(String steps, String reason) {
        assertThat(rejection(steps, null)).contains(reason);
    }

    @Test
    void theOutputGoesWithAStepThatWritesANewImage() {
        assertThat(rejection("[{\"type\":\"inspect\"}]", "/out/x.qcow2")).contains("takes no output");
        assertThat(rejection("[{\"type\":\"inspect\"},{\"type\":\"sparsify\"}]", null))
                .contains("steps[1] (sparsify) writes a new image: the pipeline needs an output");
        assertThat(rejection("[{\"type\":\"sysprep\"},{\"type\":\"resize\",\"options\":{\"size\":\"+1G\"}}]", null))
                .contains("steps[1] (resize)");
        // a dry-run resize writes nothing
        assertThat(rejection("[{\"type\":\"resize\",\"options\":{\"dryRun\":true}}]", "/out/x.qcow2")).contains("takes no output");
    }

    @Test
    void unknownPipelineOptionsAndTopLevelStepsAreRejected() {
        String json = "{\"jobId\":\"p1\",\"type\":\"pipeline\",\"disks\":[{\"uri\":\"/a.img\"}],\"options\":{\"steps\":[{\"type\":\"inspect\"}],\"parallel\":true}}";
        assertThat(catchThrowableOfType(() -> parser.parse(json.getBytes(StandardCharsets.UTF_8)), JobRejectedException.class)
                .reason()).contains("pipeline has no option 'parallel'");
    }

    @Test
    void stepsAfterANewImageWorkOnItAndTheLastOneWritesTheJobsOutput() {
        Job job = parse("[{\"type\":\"inspect\"},{\"type\":\"sparsify\"},{\"type\":\"sysprep\"},"
                + "{\"type\":\"resize\",\"options\":{\"size\":\"+1G\"}},{\"type\":\"inspect\"}]", "/out/final.qcow2");
        PipelineSpec spec = PipelineSpec.of(job, registry, "t1");
        assertThat(spec.steps().get(0).job().disks().get(0).uri()).isEqualTo("/images/a.qcow2");
        assertThat(spec.steps().get(1).job().disks().get(0).uri()).isEqualTo("/images/a.qcow2");
        String copy = spec.steps().get(1).job().output().uri();
        assertThat(copy).startsWith("/out/.final.qcow2.t1.step1");
        assertThat(spec.steps().get(1).intermediate()).isTrue();
        assertThat(spec.steps().get(2).job().disks().get(0).uri()).as("sysprep seals the copy").isEqualTo(copy);
        assertThat(spec.steps().get(2).job().output()).isNull();
        assertThat(spec.steps().get(3).job().disks().get(0).uri()).isEqualTo(copy);
        assertThat(spec.steps().get(3).job().output().uri()).isEqualTo("/out/final.qcow2");
        assertThat(spec.steps().get(4).job().disks().get(0).uri()).isEqualTo("/out/final.qcow2");
        assertThat(spec.intermediates()).hasSize(1);
        assertThat(spec.plan().launches()).extracting(l -> l.mode().label + l.steps())
                .containsExactly("copy[0, 1]", "in-place[2]", "own[3]", "read-only[4]");
    }

    @Test
    void theSysprepHostScriptSwitchAppliesToSteps() {
        String steps = "[{\"type\":\"sysprep\",\"options\":{\"scripts\":[\"true\"]}}]";
        assertThat(rejection(steps, null)).contains("steps[0] (sysprep)");
        Job job = new JobParser(JobOperations.defaults(true)).parse(("{\"jobId\":\"p1\",\"type\":\"pipeline\","
                + "\"disks\":[{\"uri\":\"/images/a.qcow2\"}],\"options\":{\"steps\":" + steps + "}}").getBytes(StandardCharsets.UTF_8));
        assertThat(job.type()).isEqualTo("pipeline");
    }
}
