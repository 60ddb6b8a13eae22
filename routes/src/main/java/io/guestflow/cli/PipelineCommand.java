package io.guestflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.processors.JobOperations;
import io.guestflow.processors.job.FailedWithOutputException;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.pipeline.PipelineJobOperation;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code guestflow pipeline}: several steps on one guest, on as few launches as they allow, no Kafka. */
@Command(name = "pipeline", mixinStandardHelpOptions = true,
        description = {"Run ordered steps (inspect, sysprep, sparsify, resize) on the disks of ONE guest, on as few appliance launches as the steps allow.",
            "--steps is a job's options.steps, e.g. '[{\"type\":\"inspect\"},{\"type\":\"sysprep\"},{\"type\":\"sparsify\",\"options\":{\"inPlace\":true}}]'.",
            "Prints the launch plan and every step's result (JSON); when a step fails, the same with the failure (exit code 1). Journal steps publish to the journal topic: submit such pipelines to the engine."})
public final class PipelineCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Mixin
    GuestflowCli.Common common = new GuestflowCli.Common();

    @Mixin
    JobOptions jobOptions = new JobOptions(3600);

    @Mixin
    KeyOptions keyOptions = new KeyOptions();

    @Option(names = "--steps", required = true, paramLabel = "JSON", description = "The steps: a JSON array of {\"type\", \"options\"}.")
    String steps;

    @Option(names = {"-o", "--output"}, paramLabel = "OUTPUT", description = "The new image, for pipelines with a copy-mode sparsify or a resize (the last one writes it).")
    String output;

    @Option(names = "--overwrite", description = "Replace the output if it exists (it keeps its mode); otherwise an existing the output is refused.")
    boolean overwrite;

    @Option(names = "--plan", description = "Print the launch plan only; nothing is launched.")
    boolean planOnly;

    @Option(names = "--allow-host-scripts", description = "Let sysprep steps' scripts run commands on this host as the current user.")
    boolean allowHostScripts;

    @Parameters(arity = "1..*", paramLabel = "DISK", description = "The guest's disks (paths or URIs).")
    List<String> disks;

    @Override
    public Integer call() throws Exception {
        JsonNode parsed;
        try {
            parsed = JSON.readTree(steps);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ParameterException(spec.commandLine(), "--steps is not JSON: " + e.getOriginalMessage());
        }
        for (JsonNode s : parsed) {
            if ("journal".equals(s.path("type").asText())) {
                throw new ParameterException(spec.commandLine(), "journal steps publish to the journal topic: "
                        + "submit this pipeline to the engine (bin/guestflow submit), or use bin/guestflow journal");
            }
        }
        ObjectNode options = LocalJob.options();
        options.set("steps", parsed);
        PipelineJobOperation op = (PipelineJobOperation) JobOperations.defaults(allowHostScripts).get("pipeline");
        Job job = keyOptions.attach(jobOptions.job(op.type(), disks,
                output == null ? null : new Job.Output(output, null, overwrite), options));
        if (planOnly) {
            op.validate(job);
            System.out.println(LocalJob.pretty(op.plan(job)));
            return ExitCodes.OK;
        }
        try {
            System.out.println(LocalJob.pretty(LocalJob.run(common, op, job, keyOptions)));
        } catch (FailedWithOutputException e) {
            System.out.println(LocalJob.pretty(e.output())); // what the steps before the failure did
            throw e;
        }
        return ExitCodes.OK;
    }
}
