package io.guestflow.scan;

import static org.assertj.core.api.Assertions.assertThat;

import io.guestflow.config.GuestflowConfig;
import io.guestflow.engine.Engine;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MisfiresTest {
    private static ScanConfig daily() {
        return GuestflowConfig.scan("d", Map.of("guestflow.scan.d.roots", "/srv", "guestflow.scan.d.cron", "0 0 2 * * ?",
                "guestflow.scan.d.time-zone", "UTC"), Map.of());
    }

    @Test
    void theLatestMissedFireIsRunOnce() {
        Instant last = Instant.parse("2026-11-20T02:00:00Z");
        // down for three nights: only the latest missed fire counts
        assertThat(Misfires.latestMissed(daily(), last, Instant.parse("2026-11-23T09:00:00Z")))
                .contains(Instant.parse("2026-11-23T02:00:00Z"));
    }

    @Test
    void nothingMissedNothingToRun() {
        Instant last = Instant.parse("2026-11-20T02:00:00Z");
        assertThat(Misfires.latestMissed(daily(), last, Instant.parse("2026-11-21T01:59:59Z"))).isEmpty();
        // never ran: the first run is the next scheduled one
        assertThat(Misfires.latestMissed(daily(), null, Instant.parse("2026-11-21T03:00:00Z"))).isEmpty();
    }

    @Test
    void timeZoneOfTheScanCounts() {
        ScanConfig paris = GuestflowConfig.scan("p", Map.of("guestflow.scan.p.roots", "/srv", "guestflow.scan.p.cron", "0 0 2 * * ?",
                "guestflow.scan.p.time-zone", "Europe/Paris"), Map.of());
        // 02:00 in Paris in November is 01:00 UTC
        assertThat(Misfires.latestMissed(paris, Instant.parse("2026-11-20T01:00:00Z"), Instant.parse("2026-11-21T01:30:00Z")))
                .contains(Instant.parse("2026-11-21T01:00:00Z"));
    }
}
