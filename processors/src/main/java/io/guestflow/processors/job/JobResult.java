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
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobResult(String jobId, String type, Status status, Map<String, String> labels, Timings timings,
                        Object output, Error error, int attempts, String engine) {

    public enum Status { SUCCEEDED, FAILED, REJECTED }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Timings(Instant queuedAt, Instant receivedAt, Instant launchStartedAt, Instant runEndedAt,
                          Instant finishedAt, Long launchMillis, Long runMillis) {
        /** For jobs that never reached an appliance. */
        public static Timings notRun(Instant queuedAt, Instant receivedAt) {
            return new Timings(queuedAt, receivedAt, null, null, Instant.now(), null, null);
        }
    }

    public record Error(String code, String message, boolean retryable) {
    }
}
