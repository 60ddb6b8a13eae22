package io.guestflow.processors.job;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.Map;

/**
 * The one result of a job on the results topic (compacted, key = jobId).
 * Schema: {@code config/schemas/result.schema.json}.
 *
 * @param status   SUCCEEDED, FAILED or REJECTED
 * @param timings  when the job was queued, received, launched, done and finished, and how long launch and run took
 * @param output   the operation's output (SUCCEEDED only)
 * @param error    why it failed or was rejected
 * @param attempts how many times the job ran (retries of appliance failures included)
 * @param batch    for jobs collected into a batch (read-only inspection sharing one appliance): how it ran;
 *                 absent for jobs that ran on their own appliance as usual
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobResult(String jobId, String type, Status status, Map<String, String> labels, Timings timings,
                        Object output, Error error, int attempts, String engine, Batch batch) {

    public enum Status { SUCCEEDED, FAILED, REJECTED }

    /** The job's operation ran to the end: its output. */
    public static JobResult succeeded(Job job, Timings timings, Object output, int attempts, String engine) {
        return new JobResult(job.jobId(), job.type(), Status.SUCCEEDED, job.labels(), timings, output, null, attempts,
                engine, null);
    }

    /** The job failed; {@code output} is what it did before (a pipeline's earlier steps), or null. */
    public static JobResult failed(Job job, Timings timings, Object output, Error error, int attempts, String engine) {
        return new JobResult(job.jobId(), job.type(), Status.FAILED, job.labels(), timings, output, error, attempts,
                engine, null);
    }

    /** The job's input is bad (found by its operation or at its disks); {@code output} as for {@link #failed}. */
    public static JobResult rejected(Job job, Timings timings, Object output, Error error, int attempts, String engine) {
        return new JobResult(job.jobId(), job.type(), Status.REJECTED, job.labels(), timings, output, error, attempts,
                engine, null);
    }

    /** A job that could not be read or validated: no type, labels or attempt, only why. */
    public static JobResult invalid(String jobId, Timings timings, String reason, String engine) {
        return new JobResult(jobId, null, Status.REJECTED, null, timings, null, Error.rejection(reason), 0, engine, null);
    }

    public JobResult withBatch(Batch b) {
        return new JobResult(jobId, type, status, labels, timings, output, error, attempts, engine, b);
    }

    /**
     * @param shared         true when the job ran on an appliance shared with other jobs of the batch
     * @param guests         how many guests that appliance held (1 when the job was run alone)
     * @param ranAloneBecause why a job collected into a batch was run on an appliance of its own
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Batch(boolean shared, int guests, String ranAloneBecause) {
        public static Batch shared(int guests) {
            return new Batch(true, guests, null);
        }

        public static Batch alone(String why) {
            return new Batch(false, 1, why);
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Timings(Instant queuedAt, Instant receivedAt, Instant launchStartedAt, Instant runEndedAt,
                          Instant finishedAt, Long launchMillis, Long runMillis) {
        /** For jobs that never reached an appliance. */
        public static Timings notRun(Instant queuedAt, Instant receivedAt) {
            return new Timings(queuedAt, receivedAt, null, null, Instant.now(), null, null);
        }
    }

    public record Error(String code, String message, boolean retryable) {
        /** The error of a rejected job: code {@code REJECTED}, never retryable. */
        public static Error rejection(String reason) {
            return new Error("REJECTED", reason, false);
        }
    }
}
