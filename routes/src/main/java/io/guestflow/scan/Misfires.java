package io.guestflow.scan;

import java.text.ParseException;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;
import java.util.TimeZone;
import org.quartz.CronExpression;

/**
 * Fires missed while no engine ran. Quartz keeps its triggers in memory
 * here (no job store database), so after a restart it knows nothing of the
 * fires it missed; the reports folder does: the latest run's scheduled time.
 * Policy {@code fire-once-now} (default): if at least one scheduled fire
 * fell between that run and now, run once at start, under the run id of the
 * latest missed fire; {@code skip}: wait for the next fire. Missed fires are
 * never run one by one. While the engine runs, a fire that comes while the
 * previous run of the scan is still collecting results waits for it and then
 * fires once (Quartz's fire-once-now misfire instruction).
 */
public final class Misfires {
    private Misfires() {
    }

    /** The latest scheduled fire after {@code lastRun} and not after {@code now}, if any. */
    public static Optional<Instant> latestMissed(ScanConfig scan, Instant lastRun, Instant now) {
        if (scan.cron() == null || lastRun == null) {
            return Optional.empty();
        }
        CronExpression cron;
        try {
            cron = new CronExpression(scan.cron());
        } catch (ParseException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        cron.setTimeZone(TimeZone.getTimeZone(scan.timeZone()));
        Date next = cron.getTimeAfter(Date.from(lastRun));
        Instant missed = null;
        // bounded: a seconds-level cron after a month away has millions of fires; the latest is what counts
        for (int i = 0; next != null && !next.toInstant().isAfter(now) && i < 100_000; i++) {
            missed = next.toInstant();
            next = cron.getTimeAfter(next);
        }
        if (missed != null && next != null && !next.toInstant().isAfter(now)) {
            missed = now;
        }
        return Optional.ofNullable(missed);
    }
}
