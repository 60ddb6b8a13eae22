package io.guestflow.engine;

import org.slf4j.MDC;

/**
 * The job a thread works for, in the logging context (MDC keys {@code jobId}
 * and {@code jobType}): every log line written meanwhile names it, in the text
 * layout and as fields of the JSON layout. Closing restores what was there
 * before, so a job run inside a batch hands the batch's context back.
 */
final class JobLogContext implements AutoCloseable {
    static final String JOB_ID = "jobId";
    static final String JOB_TYPE = "jobType";

    private final String previousId;
    private final String previousType;

    private JobLogContext(String jobId, String type) {
        previousId = MDC.get(JOB_ID);
        previousType = MDC.get(JOB_TYPE);
        put(JOB_ID, jobId);
        put(JOB_TYPE, type);
    }

    /** {@code jobId} (several ids of a shared launch: comma-separated) and its type until closed. */
    static JobLogContext of(String jobId, String type) {
        return new JobLogContext(jobId, type);
    }

    private static void put(String key, String value) {
        if (value == null) {
            MDC.remove(key);
        } else {
            MDC.put(key, value);
        }
    }

    @Override
    public void close() {
        put(JOB_ID, previousId);
        put(JOB_TYPE, previousType);
    }
}
