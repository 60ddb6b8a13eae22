package io.guestflow.processors.pipeline;

import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import io.guestflow.processors.job.DiskAccess;
import io.guestflow.processors.job.DiskOverlays;
import io.guestflow.processors.job.FailedWithOutputException;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecution;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.processors.pipeline.LaunchPlan.Mode;
import io.guestflow.processors.pipeline.PipelineSpec.Step;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attempt of a pipeline: its launches one after the other (the executor
 * asks {@link JobExecution#next()} for the next), each step's result as it
 * comes, and the temporary images between steps, removed when it ends.
 */
final class PipelineRun {
    private static final Logger LOG = LoggerFactory.getLogger(PipelineRun.class);

    /** A step's status in the report ({@link PipelineReport.Step#status()}). */
    private enum StepStatus { NOT_RUN, SUCCEEDED, FAILED, REJECTED, DISCARDED }

    /** What became of a launch ({@link PipelineReport.Launch#outcome()}); {@code label} is its name in the report. */
    private enum LaunchOutcome {
        NOT_RUN("not-run"), DONE("done"), COMMITTED("committed"), OUTPUT_WRITTEN("output-written"),
        DISCARDED("discarded"), FAILED("failed");

        final String label;

        LaunchOutcome(String label) {
            this.label = label;
        }
    }

    /** What the report says of one step so far. */
    private static final class StepResult {
        StepStatus status = StepStatus.NOT_RUN;
        Object output;
        PipelineReport.Error error;
    }

    private final Job job;
    private final PipelineSpec spec;
    private final StepResult[] stepResults;
    private final LaunchOutcome[] launchOutcome;
    private Integer failedStep;
    /** A launch committed changes into the job's own disks: running the job again would repeat them. */
    private boolean inputChanged;

    PipelineRun(Job job, PipelineSpec spec) {
        this.job = job;
        this.spec = spec;
        stepResults = new StepResult[spec.steps().size()];
        Arrays.setAll(stepResults, i -> new StepResult());
        launchOutcome = new LaunchOutcome[spec.plan().launches().size()];
        Arrays.fill(launchOutcome, LaunchOutcome.NOT_RUN);
    }

    /** The first launch; a step that rejects it here rejects the job, since nothing has run. */
    JobExecution start() throws Exception {
        LaunchExecution first = new LaunchExecution(0);
        try {
            first.prepare();
        } catch (Exception e) {
            first.close();
            throw e;
        }
        return first;
    }

    PipelineReport report() {
        List<PipelineReport.Launch> launches = new ArrayList<>();
        List<LaunchPlan.Launch> plan = spec.plan().launches();
        int[] launchOf = new int[spec.steps().size()];
        for (int k = 0; k < plan.size(); k++) {
            LaunchPlan.Launch l = plan.get(k);
            Step first = spec.steps().get(l.steps().get(0));
            Step owner = owner(l);
            for (int s : l.steps()) {
                launchOf[s] = k + 1;
            }
            launches.add(new PipelineReport.Launch(k + 1, l.mode().label, l.steps(),
                    first.job().disks().stream().map(d -> Drive.redact(d.uri())).toList(),
                    owner == null || owner.job().output() == null ? null : owner.job().output().uri(),
                    owner == null || owner.job().output() == null ? null : owner.intermediate(), launchOutcome[k].label));
        }
        List<PipelineReport.Step> steps = new ArrayList<>();
        for (Step s : spec.steps()) {
            StepResult r = stepResults[s.index()];
            steps.add(new PipelineReport.Step(s.index(), s.job().type(), launchOf[s.index()], r.status.name(), r.output,
                    r.error));
        }
        // the last step that writes a new image writes the job's output, even when a later step fails
        boolean wroteOutput = spec.steps().stream().anyMatch(st -> st.producesOutput() && !st.intermediate()
                && stepResults[st.index()].status == StepStatus.SUCCEEDED);
        return new PipelineReport(failedStep == null ? "SUCCEEDED" : "FAILED", failedStep,
                wroteOutput ? job.output().uri() : null, List.copyOf(launches), List.copyOf(steps));
    }

    /** The step of a copy or own launch whose execution owns the launch's drives; null for the others. */
    private Step owner(LaunchPlan.Launch l) {
        if (l.mode() != Mode.COPY && l.mode() != Mode.OWN) {
            return null;
        }
        for (int s : l.steps()) {
            Step step = spec.steps().get(s);
            if (step.access() == DiskAccess.COPY_TO_OUTPUT || step.access() == DiskAccess.OWN_LAUNCH) {
                return step;
            }
        }
        throw new IllegalStateException("launch without its copy or resize step: " + l);
    }

    private void stepFailed(Step step, ErrorCode code, String message) {
        stepEnded(step, StepStatus.FAILED, new PipelineReport.Error(code.name(), message));
    }

    /** The step found it cannot apply. */
    private void stepRejected(Step step, String reason) {
        stepEnded(step, StepStatus.REJECTED, new PipelineReport.Error("REJECTED", reason));
    }

    /** Whichever of the two {@code e} is: a rejection or a failure with its code. */
    private void stepFailed(Step step, Exception e, ErrorCode code, String message) {
        if (e instanceof JobRejectedException je) {
            stepRejected(step, je.reason());
        } else {
            stepFailed(step, code, message);
        }
    }

    private void stepEnded(Step step, StepStatus status, PipelineReport.Error error) {
        StepResult r = stepResults[step.index()];
        r.status = status;
        r.error = error;
        failedStep = step.index();
    }

    /** The job's failure, carrying the report: the earlier steps' results and why this one failed. */
    private FailedWithOutputException failure(Step step, ErrorCode code, Throwable cause) {
        PipelineReport.Error e = stepResults[step.index()].error;
        return new FailedWithOutputException(code, step.name() + " failed: " + e.message(), cause, report(),
                code.retryable() && !inputChanged);
    }

    private void deleteIntermediates() {
        for (Path p : spec.intermediates()) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                LOG.warn("pipeline {}: cannot remove the temporary image {}: {}", job.jobId(), p, e.getMessage());
            }
        }
    }

    /** One launch of the plan: its drives, its steps on the appliance, then commit or conversion. */
    private final class LaunchExecution implements JobExecution {
        private final int k;
        private final LaunchPlan.Launch launch;
        private final List<Step> steps = new ArrayList<>();
        private final List<JobExecution> executions = new ArrayList<>();
        private final Object[] outputs;
        private final Step owner;
        private DiskOverlays overlays;
        private List<Drive> drives;
        /** The step running now, for failures the executor reports (appliance died, deadline). */
        private Step current;
        private Step failed;
        private int ran;
        private boolean handedOver;

        LaunchExecution(int k) {
            this.k = k;
            this.launch = spec.plan().launches().get(k);
            launch.steps().forEach(s -> steps.add(spec.steps().get(s)));
            this.outputs = new Object[steps.size()];
            this.owner = owner(launch);
        }

        /** Creates what the launch attaches; a rejection names the step that made it. */
        void prepare() throws Exception {
            try {
                prepareDrives();
            } catch (JobRejectedException e) {
                throw e.reason().startsWith("steps[") ? e
                        : new JobRejectedException(job.jobId(), current.name() + ": " + e.reason());
            }
            current = null;
        }

        private void prepareDrives() throws Exception {
            Step first = steps.get(0);
            current = first;
            // the images this launch works on: the job's disks or the newest output
            List<Drive> disks = first.job().disks().stream()
                    .map(d -> new Drive(Drive.parseUri(d.uri()), d.format(), true, d.label())).toList();
            switch (launch.mode()) {
                case READ_ONLY -> drives = disks;
                case IN_PLACE -> {
                    Step writer = steps.stream().filter(s -> s.access() != DiskAccess.READ).findFirst().orElseThrow();
                    current = writer;
                    // a remote disk gets here only when JobExecutor.checkRemoteWrites allowed writing it: its overlay
                    // is backed by its json name (RemoteImage) and the commit writes to its server
                    DiskOverlays.requireWritable(job.jobId(), disks, writer.name() + " changes it in place");
                    boolean trims = steps.stream().anyMatch(s -> s.access() == DiskAccess.TRIM_IN_PLACE);
                    overlays = new DiskOverlays(disks, trims);
                    drives = overlays.drives();
                }
                case COPY, OWN -> {
                    current = owner;
                    JobExecution own = owner.op().prepare(owner.job(), JobExecutor.disksOf(owner.job(), owner.op()));
                    executions.add(own);
                    drives = own.drives();
                }
            }
            for (Step s : steps) {
                current = s;
                if (s != owner) {
                    JobExecution e = s.op().prepareStep(s.job(), drives);
                    executions.add(e);
                }
            }
            if (owner != null) {
                // in step order, like the others
                JobExecution own = executions.remove(0);
                executions.add(steps.indexOf(owner), own);
            }
        }

        @Override
        public List<Drive> drives() {
            return drives;
        }

        @Override
        public boolean ownsBackingChains() {
            return overlays != null || owner != null && executions.get(steps.indexOf(owner)).ownsBackingChains();
        }

        @Override
        public Object run(ApplianceHandle handle) throws Exception {
            for (int i = 0; i < steps.size(); i++) {
                Step s = steps.get(i);
                current = s;
                LOG.info("pipeline {}: {} on launch {}", job.jobId(), s.name(), k + 1);
                try {
                    outputs[i] = executions.get(i).run(handle);
                    ran = i + 1;
                    if (s.access() != DiskAccess.READ) {
                        handle.disksChanged(); // later steps inspect the disks as this step left them
                    }
                } catch (JobRejectedException e) {
                    stepRejected(s, e.reason());
                    failed = s;
                    break;
                } catch (Exception e) {
                    GuestflowException ge = handle.translate(e);
                    if (ge.code() != ErrorCode.OPERATION_FAILED) {
                        throw ge; // the appliance is gone: nothing of this launch can be kept (see failed())
                    }
                    stepFailed(s, ge.code(), ge.getMessage());
                    failed = s;
                    break;
                }
            }
            current = null;
            return null;
        }

        /**
         * After the appliance has flushed and shut down: commit the overlays or
         * write the copy's output, then let each step that ran complete its
         * report. A half-done sysprep is the one failure whose writes are
         * thrown away (it is the first writer of its launch, so nothing else is).
         */
        @Override
        public Object finish(Object ignored) {
            boolean discard = failed != null && failed.access() == DiskAccess.WRITE_IN_PLACE;
            Step finishing = steps.get(0);
            try {
                if (overlays != null) {
                    finishing = steps.stream().filter(s -> s.access() != DiskAccess.READ).findFirst().orElseThrow();
                    if (discard) {
                        launchOutcome[k] = LaunchOutcome.DISCARDED;
                    } else {
                        overlays.commit();
                        launchOutcome[k] = LaunchOutcome.COMMITTED;
                        // the job's own disks, unless an earlier step made a new image to work on
                        inputChanged |= spec.steps().subList(0, launch.steps().get(0)).stream()
                                .noneMatch(Step::producesOutput);
                    }
                } else if (owner == null) {
                    launchOutcome[k] = LaunchOutcome.DONE;
                }
                for (int i = 0; i < ran; i++) {
                    Step s = steps.get(i);
                    finishing = s;
                    outputs[i] = executions.get(i).finish(outputs[i]);
                    stepResults[s.index()].status = StepStatus.SUCCEEDED;
                    stepResults[s.index()].output = outputs[i];
                }
                if (owner != null) {
                    boolean done = stepResults[owner.index()].status == StepStatus.SUCCEEDED;
                    launchOutcome[k] = !done ? LaunchOutcome.FAILED
                            : owner.producesOutput() ? LaunchOutcome.OUTPUT_WRITTEN : LaunchOutcome.DONE;
                }
            } catch (Exception e) {
                GuestflowException ge = e instanceof GuestflowException g ? g
                        : new GuestflowException(ErrorCode.OPERATION_FAILED, String.valueOf(e.getMessage()), e);
                stepFailed(finishing, ge.code(), "after the launch: " + ge.getMessage());
                launchOutcome[k] = LaunchOutcome.FAILED;
                throw failure(finishing, ge.code(), e);
            }
            if (failed != null) {
                throw failure(failed, ErrorCode.OPERATION_FAILED, null);
            }
            return report();
        }

        /** The launch, the appliance or its flush failed: this launch's writes are lost; the earlier results stay. */
        @Override
        public RuntimeException failed(RuntimeException e) {
            if (e instanceof FailedWithOutputException) {
                return e;
            }
            if (k == 0 && ran == 0 && current == null) {
                return e; // the first appliance did not come up: nothing ran, the failure is the job's as it is
            }
            Step s = current != null ? current : steps.get(Math.min(ran, steps.size() - 1));
            ErrorCode code = e instanceof GuestflowException ge ? ge.code() : ErrorCode.OPERATION_FAILED;
            stepFailed(s, e, code, e.getMessage());
            for (int i = 0; i < ran; i++) {
                Step done = steps.get(i);
                StepResult r = stepResults[done.index()];
                r.output = outputs[i];
                // what a read step found stays true; what a writing step wrote is gone
                r.status = done.access() == DiskAccess.READ ? StepStatus.SUCCEEDED : StepStatus.DISCARDED;
            }
            launchOutcome[k] = launch.mode() == Mode.READ_ONLY ? LaunchOutcome.FAILED : LaunchOutcome.DISCARDED;
            return failure(s, code, e);
        }

        @Override
        public JobExecution next() {
            if (k + 1 >= spec.plan().launches().size()) {
                return null;
            }
            LaunchExecution next = new LaunchExecution(k + 1);
            try {
                next.prepare();
            } catch (Exception e) {
                // a step rejected the newest image, or qemu-img failed: nothing of that launch ran
                next.close();
                Step s = next.current;
                ErrorCode code = e instanceof GuestflowException ge ? ge.code() : ErrorCode.OPERATION_FAILED;
                stepFailed(s, e, code, String.valueOf(e.getMessage()));
                launchOutcome[k + 1] = LaunchOutcome.FAILED;
                throw failure(s, code, e);
            }
            handedOver = true;
            return next;
        }

        @Override
        public void close() {
            for (JobExecution e : executions) {
                e.close();
            }
            if (overlays != null) {
                overlays.close();
            }
            if (!handedOver) {
                deleteIntermediates(); // the pipeline ends here
            }
        }
    }
}
