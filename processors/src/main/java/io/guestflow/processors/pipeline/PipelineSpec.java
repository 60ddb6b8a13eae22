package io.guestflow.processors.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.pool.Drive;
import io.guestflow.processors.job.DiskAccess;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobOperation;
import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.processors.job.OperationRegistry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * A pipeline job taken apart: each step as the job it would be on its own
 * (its disks are the newest image at that point, its output the job's output
 * for the last step that writes a new image and a temporary image beside it
 * for earlier ones), its operation, and the launch plan. Building it
 * validates every step, so an invalid step rejects the whole job before
 * anything runs.
 *
 * @param intermediates the temporary images of output-writing steps before the last one
 */
record PipelineSpec(List<Step> steps, LaunchPlan plan, List<Path> intermediates) {
    static final int MAX_STEPS = 32;
    private static final Set<String> STEP_FIELDS = Set.of("type", "options");

    /**
     * One step as its own job.
     *
     * @param index      position in {@code options.steps}, from 0
     * @param job        the job it would be on its own
     * @param access     how it uses its disks
     * @param intermediate its output is a temporary image, removed when the pipeline ends
     */
    record Step(int index, Job job, JobOperation op, DiskAccess access, boolean producesOutput, boolean intermediate) {
        String name() {
            return "steps[" + index + "] (" + job.type() + ")";
        }
    }

    /**
     * @param tag distinguishes this run's temporary images from another run's (a retry, a concurrent job)
     */
    static PipelineSpec of(Job job, OperationRegistry registry, String tag) {
        String id = job.jobId();
        List<ObjectNode> rawSteps = stepNodes(job);
        // first the kinds, from the options alone: which step writes the last new image decides the outputs
        List<JobOperation> ops = new ArrayList<>();
        List<Job> bare = new ArrayList<>();
        List<DiskAccess> access = new ArrayList<>();
        List<Boolean> produces = new ArrayList<>();
        int lastProducer = -1;
        for (int i = 0; i < rawSteps.size(); i++) {
            ObjectNode s = rawSteps.get(i);
            String type = s.get("type").asText();
            // a step runs on the pipeline's appliance: job types that launch nothing (info) are not steps
            if (type.equals("pipeline") || !registry.supports(type) || !registry.get(type).launches()) {
                throw new JobRejectedException(id, "steps[" + i + "]: '" + type + "' is not a step type (one of "
                        + registry.supported().stream().filter(t -> !t.equals("pipeline") && registry.get(t).launches())
                        .toList() + ")");
            }
            JobOperation op = registry.get(type);
            ObjectNode options = s.has("options") ? (ObjectNode) s.get("options") : JsonNodeFactory.instance.objectNode();
            if (!job.keys().isEmpty() && op.refusesKeys() != null) {
                // the pipeline's keys open the containers on every launch: a step that cannot take them refuses them
                throw new JobRejectedException(id, "steps[" + i + "] (" + type + "): keys: " + op.refusesKeys());
            }
            Job b = new Job(id, type, job.disks(), null, options, job.timeoutSeconds(), job.labels(), job.debug(),
                    false, job.keys());
            ops.add(op);
            bare.add(b);
            String name = "steps[" + i + "] (" + type + ")";
            access.add(inStep(id, name, () -> op.diskAccess(b)));
            produces.add(inStep(id, name, () -> op.producesOutput(b)));
            if (produces.get(i)) {
                lastProducer = i;
            }
        }
        if (lastProducer < 0 && job.output() != null) {
            throw new JobRejectedException(id, "no step writes a new image (copy-mode sparsify, resize), so the "
                    + "pipeline takes no output");
        }
        if (lastProducer >= 0 && job.output() == null) {
            throw new JobRejectedException(id, "steps[" + lastProducer + "] (" + bare.get(lastProducer).type()
                    + ") writes a new image: the pipeline needs an output (the last such step writes it)");
        }
        // then each step as its own job on the newest image, validated by its operation
        List<Step> steps = new ArrayList<>();
        List<Path> intermediates = new ArrayList<>();
        List<Job.Disk> current = job.disks();
        for (int i = 0; i < bare.size(); i++) {
            Job b = bare.get(i);
            Job.Output output = null;
            boolean intermediate = false;
            if (produces.get(i)) {
                if (i == lastProducer) {
                    output = job.output();
                } else {
                    Path finalPath = Path.of(Drive.parseUri(job.output().uri())).toAbsolutePath();
                    // beside the final output (same folder, so the same path policy and file system), a dot name
                    Path temp = finalPath.resolveSibling("." + finalPath.getFileName() + "." + tag + ".step" + i);
                    intermediates.add(temp);
                    output = new Job.Output(temp.toString(), null);
                    intermediate = true;
                }
            }
            Job stepJob = new Job(b.jobId(), b.type(), current, output, b.options(), b.timeoutSeconds(), b.labels(),
                    b.debug(), false, b.keys());
            JobOperation op = ops.get(i);
            String name = "steps[" + i + "] (" + b.type() + ")";
            inStep(id, name, () -> {
                op.validate(stepJob);
                return null;
            });
            steps.add(new Step(i, stepJob, op, access.get(i), produces.get(i), intermediate));
            if (output != null) {
                current = List.of(new Job.Disk(output.uri(), output.format(), null));
            }
        }
        return new PipelineSpec(List.copyOf(steps), LaunchPlan.of(access), List.copyOf(intermediates));
    }

    private static List<ObjectNode> stepNodes(Job job) {
        String id = job.jobId();
        for (Iterator<String> it = job.options().fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!name.equals("steps")) {
                throw JobRejectedException.unknownOption(id, "pipeline", name, List.of("steps"));
            }
        }
        JsonNode steps = job.options().get("steps");
        if (steps == null || !steps.isArray() || steps.isEmpty()) {
            throw new JobRejectedException(id, "a pipeline needs options.steps: a non-empty array of {\"type\", \"options\"}");
        }
        if (steps.size() > MAX_STEPS) {
            throw new JobRejectedException(id, "a pipeline has at most " + MAX_STEPS + " steps (got " + steps.size() + ")");
        }
        List<ObjectNode> out = new ArrayList<>();
        for (int i = 0; i < steps.size(); i++) {
            JsonNode s = steps.get(i);
            String at = "steps[" + i + "]";
            if (!s.isObject()) {
                throw new JobRejectedException(id, at + " must be an object {\"type\", \"options\"}");
            }
            for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!STEP_FIELDS.contains(f)) {
                    throw new JobRejectedException(id, at + ": unknown field '" + f + "' (a step has: type, options)");
                }
            }
            if (!s.path("type").isTextual()) {
                throw new JobRejectedException(id, at + ".type is required (a job type such as inspect)");
            }
            if (s.has("options") && !s.get("options").isObject()) {
                throw new JobRejectedException(id, at + ".options must be an object");
            }
            out.add((ObjectNode) s);
        }
        return out;
    }

    /** Runs a check of one step; its rejection names the step. */
    static <T> T inStep(String jobId, String stepName, java.util.function.Supplier<T> check) {
        try {
            return check.get();
        } catch (JobRejectedException e) {
            throw new JobRejectedException(jobId, stepName + ": " + e.reason());
        }
    }
}
