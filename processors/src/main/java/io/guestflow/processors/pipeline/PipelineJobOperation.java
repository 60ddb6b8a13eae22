package io.guestflow.processors.pipeline;

import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecution;
import io.guestflow.processors.job.JobOperation;
import io.guestflow.processors.job.OperationRegistry;
import io.guestflow.processors.job.PathPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The {@code pipeline} job type: {@code options.steps}, an ordered list of
 * {@code {"type", "options"}}, run on as few appliance launches as the steps
 * allow ({@link LaunchPlan}). Each step works on the newest image: the job's
 * disks, or the new image of the last step that wrote one (copy-mode
 * sparsify, resize); the last such step writes the job's output, earlier ones
 * temporary images beside it. Each step is validated and run as the job it
 * would be on its own, by its own operation, and reports what that job
 * reports. A failing step stops the pipeline; the result is FAILED and
 * carries the earlier steps' results.
 */
public final class PipelineJobOperation implements JobOperation {
    private final OperationRegistry registry;

    /** @param registry where the steps' operations come from (the registry this operation is registered in) */
    public PipelineJobOperation(OperationRegistry registry) {
        this.registry = registry;
    }

    @Override
    public String type() {
        return "pipeline";
    }

    @Override
    public String description() {
        return "ordered steps (inspect, sysprep, sparsify, resize, journal) on as few appliance launches as they allow";
    }

    /** Not read-only: steps may write; read-only pipelines attach their disks read-only all the same. */
    @Override
    public boolean readOnly() {
        return false;
    }

    @Override
    public void validate(Job job) {
        PipelineSpec.of(job, registry, "validate");
    }

    /** Every step's host paths, named by the step (options.steps[i].options.tmpDir). */
    @Override
    public List<PathPolicy.HostPath> hostPaths(Job job) {
        List<PathPolicy.HostPath> out = new ArrayList<>();
        for (PipelineSpec.Step s : PipelineSpec.of(job, registry, "paths").steps()) {
            for (PathPolicy.HostPath h : s.op().hostPaths(s.job())) {
                out.add(new PathPolicy.HostPath("options.steps[" + s.index() + "]." + h.option(), h.path(), h.kind()));
            }
        }
        return out;
    }

    /** Only the first launch works on the job's disks; later ones work on the newest output. */
    @Override
    public boolean writesDisksInPlace(Job job) {
        return plan(job).launches().get(0).mode() == LaunchPlan.Mode.IN_PLACE;
    }

    /** The launch plan of a valid job, without running it. */
    public LaunchPlan plan(Job job) {
        return PipelineSpec.of(job, registry, "plan").plan();
    }

    @Override
    public Object run(ApplianceHandle handle, Job job) {
        throw new UnsupportedOperationException("pipelines run through prepare(): they plan their own launches");
    }

    @Override
    public JobExecution prepare(Job job, List<Drive> disks) throws Exception {
        PipelineSpec spec = PipelineSpec.of(job, registry, UUID.randomUUID().toString().substring(0, 8));
        return new PipelineRun(job, spec).start();
    }
}
