package io.guestflow.engine;

import java.util.Locale;

/**
 * The job lifecycle events on the log topic; each one's CloudEvents type is
 * {@code io.guestflow.job.<name>} ({@link #type()}), e.g. {@code io.guestflow.job.accepted}.
 */
public enum Lifecycle {
    /** a valid job was taken for running */
    ACCEPTED,
    /** an attempt started: its appliance is up, or the job needs none */
    STARTED,
    /** an attempt failed in a way another may cure; the next follows after a backoff */
    RETRYING,
    SUCCEEDED,
    FAILED,
    /** the job is invalid or its input bad */
    REJECTED,
    /** the job's result is already published (jobId is the idempotency key) */
    SKIPPED,
    /** given up here without a result: it runs again, here or elsewhere */
    ABANDONED;

    /** What every lifecycle event's type starts with. */
    public static final String TYPE_PREFIX = "io.guestflow.job.";

    private final String type = TYPE_PREFIX + name().toLowerCase(Locale.ROOT);

    /** The event's CloudEvents type, as on the wire. */
    public String type() {
        return type;
    }
}
