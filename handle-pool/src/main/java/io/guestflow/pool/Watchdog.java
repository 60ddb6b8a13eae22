package io.guestflow.pool;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Enforces job deadlines by killing the appliance's qemu, never by calling
 * into the busy handle. The blocked call then fails and
 * {@link ApplianceHandle#translate} reports TIMEOUT.
 */
public final class Watchdog {
    private final ScheduledExecutorService timer;

    Watchdog(ScheduledExecutorService timer) {
        this.timer = timer;
    }

    /** A running deadline; closing it disarms the watchdog. */
    public interface Deadline extends AutoCloseable {
        @Override
        void close();
    }

    /** Kills {@code handle}'s appliance when {@code timeout} passes before the returned deadline is closed. */
    public Deadline arm(ApplianceHandle handle, Duration timeout) {
        if (timeout == null || timeout.isZero() || timeout.isNegative()) {
            return () -> { };
        }
        ScheduledFuture<?> f = timer.schedule(
                () -> handle.kill(ErrorCode.TIMEOUT, "job exceeded its deadline of " + human(timeout) + "; appliance killed"),
                timeout.toMillis(), TimeUnit.MILLISECONDS);
        return () -> f.cancel(false);
    }

    private static String human(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
