package io.guestflow.engine;

import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.Secrets;
import io.guestflow.processors.job.TempArtifacts;
import java.nio.file.Path;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import io.guestflow.processors.job.FailedWithOutputException;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.job.JobOperation;
import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.processors.job.JobResult;
import io.guestflow.processors.job.KeySource;
import io.guestflow.processors.job.OperationRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one valid job on the pool: lease a slot, launch an appliance with the
 * job's disks, run the operation under the job's deadline, and turn the
 * outcome into a result. Appliance failures (launch, crash, no free slot)
 * are retried with exponential backoff; bad input and timeouts are not.
 */
public final class JobRunner {
    private static final Logger LOG = LoggerFactory.getLogger(JobRunner.class);
    /** Disk problems found before launch: the job's input is bad, so it is REJECTED. */
    private static final Set<ErrorCode> BAD_INPUT = Set.of(ErrorCode.INVALID_DRIVE, ErrorCode.DISK_NOT_FOUND,
            ErrorCode.DISK_UNREADABLE, ErrorCode.DISK_EMPTY, ErrorCode.DISK_CORRUPT, ErrorCode.FORMAT_MISMATCH,
            ErrorCode.BACKING_FILE_REFUSED, ErrorCode.IMAGE_REFUSED);

    private final EngineConfig config;
    private final HandlePool pool;
    private final OperationRegistry registry;
    private final EventPublisher events;

    public JobRunner(EngineConfig config, HandlePool pool, OperationRegistry registry, EventPublisher events) {
        this.config = config;
        this.pool = pool;
        this.registry = registry;
        this.events = events;
    }

    public JobResult run(Job job, Instant queuedAt, Instant receivedAt) {
        try (JobLogContext ignored = JobLogContext.of(job.jobId(), job.type())) {
            return runLogged(job, queuedAt, receivedAt);
        }
    }

    private JobResult runLogged(Job job, Instant queuedAt, Instant receivedAt) {
        return new Execution(job, queuedAt, receivedAt).run();
    }

    /** One job's attempts; each one's timings are kept for the result of the last. */
    private final class Execution {
        private final Job job;
        private final Instant queuedAt;
        private final Instant receivedAt;
        private final JobOperation op;
        /** debug messages and trace are published when the job asks or the configuration turned them on */
        private final boolean debugEvents;
        private JobExecutor.Attempt tried;

        Execution(Job job, Instant queuedAt, Instant receivedAt) {
            this.job = job;
            this.queuedAt = queuedAt;
            this.receivedAt = receivedAt;
            this.op = registry.get(job.type());
            this.debugEvents = job.debug() || config.pool().verbose() || config.pool().trace();
        }

        JobResult run() {
            return new Retries(config.maxAttempts(), config.retryBackoff()).run(this::attempt, this::retrying,
                    this::gaveUp);
        }

        /** A result, or the appliance failure that ended the attempt (thrown, for {@link Retries}). */
        private JobResult attempt(int attempt) {
            tried = new JobExecutor.Attempt();
            try {
                if (!op.launches()) {
                    // no appliance to wait for: the job starts now (an execution, as the fault suite counts them)
                    events.lifecycle(job.jobId(), Lifecycle.STARTED, Map.of("attempt", attempt, "launches", 0));
                }
                Object output = JobExecutor.execute(pool, op, job, e -> events.libguestfs(job.jobId(), e, debugEvents),
                        h -> events.lifecycle(job.jobId(), Lifecycle.STARTED, Map.of("attempt", attempt,
                                "launchMillis", h.launchMillis(), "qemuPid", h.pid())),
                        tried, config.outputMode(), KeySource.secretsDir(config.secretsDir()));
                return JobResult.succeeded(job, new JobResult.Timings(queuedAt, receivedAt, tried.launchStartedAt(),
                                tried.runEndedAt(), Instant.now(), tried.launchMillis() < 0 ? null : tried.launchMillis(),
                                tried.runMillis()), output, attempt, config.instanceId());
            } catch (JobRejectedException e) {
                // options that only the operation's preparation could judge (e.g. not enough temporary space)
                return JobResult.rejected(job, JobResult.Timings.notRun(queuedAt, receivedAt), null,
                        JobResult.Error.rejection(e.reason()), attempt, config.instanceId());
            } catch (GuestflowException e) {
                if (e.code() == ErrorCode.POOL_CLOSED) {
                    // the engine is stopping, or the job's claim was lost: no result, no commit; the job runs
                    // again (here after a restart, or on whoever claims it). What it left goes now.
                    sweepAfterFailure(job);
                }
                throw e;
            } catch (RuntimeException e) {
                // a defect, not the job's input: the job fails with the reason (never a consumer stopped by it)
                LOG.error("job {}: unexpected error: {}", job.jobId(), Secrets.redact(e.toString()));
                LOG.debug("job {}: unexpected error", job.jobId(), e);
                return JobResult.failed(job, new JobResult.Timings(queuedAt, receivedAt, tried.launchStartedAt(), null,
                                Instant.now(), null, null), null,
                        new JobResult.Error(ErrorCode.OPERATION_FAILED.name(), "internal error: " + e, false),
                        attempt, config.instanceId());
            }
        }

        private void retrying(int attempt, GuestflowException e, Duration backoff) {
            LOG.warn("job {}: attempt {} failed ({}); retrying in {} ms", job.jobId(), attempt,
                    Secrets.redact(e.toString()), backoff.toMillis());
            sweepAfterFailure(job);
            events.lifecycle(job.jobId(), Lifecycle.RETRYING, Map.of("attempt", attempt, "code", e.code().name(),
                    "message", e.getMessage(), "backoffMillis", backoff.toMillis()));
        }

        /** Disk problems found before launch are the job's bad input (REJECTED); the rest FAILED. */
        private JobResult gaveUp(int attempt, GuestflowException e) {
            long launchMs = tried.launchMillis();
            long runMs = tried.runMillis();
            JobResult.Timings timings = new JobResult.Timings(queuedAt, receivedAt, tried.launchStartedAt(), null,
                    Instant.now(), launchMs < 0 ? null : launchMs, runMs < 0 ? null : runMs);
            // a pipeline's earlier steps: what they did stays reported
            Object output = e instanceof FailedWithOutputException f ? f.output() : null;
            JobResult.Error error = new JobResult.Error(e.code().name(), e.getMessage(), e.retryable());
            if (BAD_INPUT.contains(e.code())) {
                return JobResult.rejected(job, timings, output, error, attempt, config.instanceId());
            }
            sweepAfterFailure(job);
            return JobResult.failed(job, timings, output, error, attempt, config.instanceId());
        }
    }

    /** A failed job may have met what a killed one left beside its output or in the temporary folders. */
    private void sweepAfterFailure(Job job) {
        Path outDir = job.output() == null ? null : Path.of(Drive.parseUri(job.output().uri())).getParent();
        TempArtifacts.sweep(outDir, Engine.tmpDirs(config));
    }
}
