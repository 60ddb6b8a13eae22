package io.guestflow.scan;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Quartz route per scheduled scan. A fire runs the scan on the Quartz
 * thread ({@code stateful}: runs of one scan never overlap; a fire due
 * while a run is still going fires once when it ends). The run id is the
 * fire's scheduled time, so engine instances that fire the same scan work
 * on the same run: the same job ids (the engine runs each once) and the
 * same report folder. A fire missed while no engine ran: see {@link Misfires}.
 */
public final class ScanRoutes extends RouteBuilder {
    private static final Logger LOG = LoggerFactory.getLogger(ScanRoutes.class);

    private final List<ScanConfig> scans;
    private final ScanRunner runner;
    private final Path reportsDir;
    private final com.fasterxml.jackson.databind.ObjectMapper json;

    public ScanRoutes(List<ScanConfig> scans, ScanRunner runner, Path reportsDir,
                      com.fasterxml.jackson.databind.ObjectMapper json) {
        this.scans = scans;
        this.runner = runner;
        this.reportsDir = reportsDir;
        this.json = json;
    }

    @Override
    public void configure() {
        for (ScanConfig scan : scans) {
            if (scan.cron() == null) {
                continue;
            }
            // CronTrigger.MISFIRE_INSTRUCTION_FIRE_ONCE_NOW = 1
            from("quartz://guestflow-scans/" + scan.name() + "?cron=" + enc(scan.cron())
                    + "&trigger.timeZone=" + enc(scan.timeZone().getId())
                    + "&trigger.misfireInstruction=1&stateful=true")
                    .routeId("guestflow-scan-" + scan.name())
                    .process(ex -> fire(scan, scheduled(ex)));
            Optional<Instant> missed = Misfires.latestMissed(scan, lastScheduled(scan), Instant.now());
            if (scan.misfire() == ScanConfig.Misfire.FIRE_ONCE_NOW && missed.isPresent()) {
                LOG.info("scan {}: the fire of {} was missed while no engine ran; running it now", scan.name(), missed.get());
                from("timer:guestflow-scan-catch-up-" + scan.name() + "?repeatCount=1&delay=2000")
                        .routeId("guestflow-scan-catch-up-" + scan.name())
                        .process(ex -> fire(scan, missed.get()));
            }
        }
    }

    private void fire(ScanConfig scan, Instant scheduledAt) {
        try {
            runner.run(scan, scheduledAt);
        } catch (java.util.concurrent.CancellationException e) {
            LOG.info("scan {}: run of {} stopped with the engine", scan.name(), scheduledAt);
        } catch (Exception e) {
            // a scan that cannot run (root gone, broker down) must not take the scheduler with it
            LOG.error("scan {}: run of {} failed: {}", scan.name(), scheduledAt, e.toString());
        }
    }

    private static Instant scheduled(Exchange ex) {
        Date d = ex.getIn().getHeader("scheduledFireTime", Date.class);
        return d == null ? Instant.now() : d.toInstant();
    }

    private Instant lastScheduled(ScanConfig scan) {
        ScanReport last = ReportFiles.previous(reportsDir, scan.name(), "99999999T999999Z", json);
        return last == null ? null : last.summary().scheduledAt();
    }

    private static String enc(String v) {
        return URLEncoder.encode(v, StandardCharsets.UTF_8);
    }
}
