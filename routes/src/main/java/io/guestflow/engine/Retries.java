package io.guestflow.engine;

import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import java.time.Duration;

/**
 * How a job's attempts repeat: an attempt that fails with a retryable error
 * (the appliance did not launch or crashed, no free slot) runs again after a
 * backoff that doubles each time, up to {@code maxAttempts} attempts in all.
 * Any other failure, and the last attempt's, goes to the caller to make a
 * result of. {@link ErrorCode#POOL_CLOSED} is never retried here: the engine
 * is stopping or the job's claim was lost, so it passes through as it is.
 *
 * @param maxAttempts  attempts in all, at least 1
 * @param firstBackoff wait before the first retry
 * @param sleeper      how the wait is spent (a test passes one that records it)
 */
record Retries(int maxAttempts, Duration firstBackoff, Sleeper sleeper) {

    /** One attempt; numbered from 1. Throws what failed it. */
    @FunctionalInterface
    interface Attempt<T> {
        T run(int attempt);
    }

    /** Told before each retry: which attempt failed, why, and how long until the next. */
    @FunctionalInterface
    interface Retrying {
        void retrying(int attempt, GuestflowException e, Duration backoff);
    }

    /** The failure of the last attempt made (not retryable, or none left), turned into what the caller returns. */
    @FunctionalInterface
    interface GiveUp<T> {
        T gaveUp(int attempt, GuestflowException e);
    }

    @FunctionalInterface
    interface Sleeper {
        void sleep(Duration d) throws InterruptedException;
    }

    Retries(int maxAttempts, Duration firstBackoff) {
        this(maxAttempts, firstBackoff, d -> Thread.sleep(d.toMillis()));
    }

    Retries {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
        }
    }

    /**
     * Runs {@code attempt} until it returns or fails for good.
     *
     * @throws GuestflowException {@link ErrorCode#POOL_CLOSED} as thrown by an attempt, or when the
     *                            wait for a retry is interrupted
     */
    <T> T run(Attempt<T> attempt, Retrying onRetry, GiveUp<T> giveUp) {
        Duration backoff = firstBackoff;
        for (int n = 1; ; n++) {
            try {
                return attempt.run(n);
            } catch (GuestflowException e) {
                if (e.code() == ErrorCode.POOL_CLOSED) {
                    throw e;
                }
                if (!e.retryable() || n >= maxAttempts) {
                    return giveUp.gaveUp(n, e);
                }
                onRetry.retrying(n, e, backoff);
                pause(backoff);
                backoff = backoff.multipliedBy(2);
            }
        }
    }

    private void pause(Duration d) {
        try {
            sleeper.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestflowException(ErrorCode.POOL_CLOSED, "interrupted while waiting to retry");
        }
    }
}
