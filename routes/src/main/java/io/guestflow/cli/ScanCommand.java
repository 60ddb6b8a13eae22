package io.guestflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.engine.Engine;
import io.guestflow.engine.EngineConfig;
import io.guestflow.engine.ResultIndex;
import io.guestflow.scan.ScanConfig;
import io.guestflow.scan.ScanReport;
import io.guestflow.scan.ScanRunner;
import io.guestflow.settings.Configuration;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code guestflow scan}: run a configured scan now, or an ad-hoc one over
 * a directory. The walk happens here, so the images must be at the same
 * paths for this command and for the engines that run the jobs.
 */
@Command(name = "scan", mixinStandardHelpOptions = true,
        description = {"Run a fleet scan now: one job per image under the roots, produced to the jobs topic;",
            "images whose job already has a result are not run again.",
            "NAME is a scan of the configuration (guestflow.scan.NAME.*); --root makes an ad-hoc one.",
            "With --wait: wait for every result, publish the scan summary, write report.html,",
            "report.csv and report.json, and print their paths. Exit 0, or 4 when some image had no result in time."})
public final class ScanCommand implements Callable<Integer> {
    @Mixin
    EngineOptions options = new EngineOptions();

    @Parameters(arity = "0..1", paramLabel = "NAME", description = "A scan declared in the configuration.")
    String name;

    @Option(names = "--root", paramLabel = "DIR", description = "Ad-hoc scan: a directory to walk (repeatable).")
    List<Path> roots = new ArrayList<>();

    @Option(names = "--glob", paramLabel = "GLOB",
            description = "Ad-hoc scan: images to include (repeatable; default: *.qcow2 *.img *.raw *.vmdk *.vdi *.vhd *.vhdx). "
                    + "A glob without '/' matches file names, else paths under the root.")
    List<String> include = new ArrayList<>();

    @Option(names = "--exclude", paramLabel = "GLOB", description = "Ad-hoc scan: images to leave out (repeatable).")
    List<String> exclude = new ArrayList<>();

    @Option(names = {"-t", "--type"}, description = "Ad-hoc scan: job type (default inspect).")
    String type;

    @Option(names = "--option", paramLabel = "KEY=VALUE", description = "Ad-hoc scan: an option of the job type.")
    Map<String, String> jobOptions = new LinkedHashMap<>();

    @Option(names = "--scan-name", defaultValue = "adhoc", paramLabel = "NAME",
            description = "Ad-hoc scan: its name in job ids and under the reports folder (default adhoc).")
    String adhocName;

    @Option(names = "--wait", description = "Wait for every result, then write the report and print its files.")
    boolean waitForResults;

    @Option(names = "--result-timeout", paramLabel = "MINUTES", defaultValue = "0",
            description = "With --wait: images without a result after this long are reported as such (default: the scan's, 24 h).")
    long resultTimeoutMinutes;

    @Override
    public Integer call() throws Exception {
        if ((name == null) == roots.isEmpty()) {
            throw new IllegalArgumentException("give either a scan NAME from the configuration or --root DIR for an ad-hoc scan");
        }
        Configuration conf = options.configuration();
        EngineConfig cfg = options.engineConfig();
        ObjectMapper json = Engine.json();
        if (name != null) {
            if (!conf.names(ScanConfig.ROOTS).contains(name)) {
                throw new IllegalArgumentException("no scan '" + name + "' in the configuration (guestflow.scan." + name
                        + ".roots is not set" + (options.config == null ? "; pass --config FILE" : "") + ")");
            }
        } else {
            // an ad-hoc scan is a scan of the configuration like any other, declared by the command line
            name = adhocName;
            String src = "command line";
            conf = conf.with(ScanConfig.ROOTS.keyFor(name), String.join(",",
                    roots.stream().map(r -> r.toAbsolutePath().normalize().toString()).toList()), src + " --root");
            conf = conf.with(ScanConfig.MISFIRE.keyFor(name), "skip", src);
            if (!include.isEmpty()) {
                conf = conf.with(ScanConfig.INCLUDE.keyFor(name), String.join(",", include), src + " --glob");
            }
            if (!exclude.isEmpty()) {
                conf = conf.with(ScanConfig.EXCLUDE.keyFor(name), String.join(",", exclude), src + " --exclude");
            }
            if (type != null) {
                conf = conf.with(ScanConfig.TYPE.keyFor(name), type, src + " --type");
            }
            ObjectNode o = json.createObjectNode();
            jobOptions.forEach((k, v) -> o.set(k, typed(json, v)));
            conf = conf.with(ScanConfig.OPTIONS.keyFor(name), json.writeValueAsString(o), src + " --option");
        }
        if (resultTimeoutMinutes > 0) {
            conf = conf.with(ScanConfig.RESULT_TIMEOUT.keyFor(name), Long.toString(resultTimeoutMinutes),
                    "command line --result-timeout");
        }
        ScanConfig scan = ScanConfig.from(conf, name);
        Map<String, Object> client = new LinkedHashMap<>(Engine.clientProps(cfg));
        client.put("bootstrap.servers", options.clientBootstrap(cfg));
        Path reports = conf.get(EngineConfig.REPORTS_DIR);
        try (ResultIndex done = new ResultIndex(client, cfg.topics().results(), cfg.dedupIndexMaxJobs());
             KafkaProducer<String, byte[]> producer = new KafkaProducer<>(client, new StringSerializer(), new ByteArraySerializer())) {
            if (!done.awaitCaughtUp(Duration.ofMinutes(2))) {
                throw new IllegalStateException("could not read the results topic " + cfg.topics().results());
            }
            ScanRunner runner = new ScanRunner(producer, client, cfg.topics().jobs(), cfg.topics().results(), reports,
                    done::hasResult, "cli-" + ProcessHandle.current().pid(), json);
            Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
            ScanRunner.Outcome out = runner.run(scan, now, waitForResults);
            System.err.println("scan " + scan.name() + " run " + out.runId() + ": " + out.producedJobIds().size()
                    + " job(s) produced to " + cfg.topics().jobs());
            if (!waitForResults) {
                out.producedJobIds().forEach(System.out::println);
                return ExitCodes.OK;
            }
            ScanReport.Summary s = out.report().summary();
            System.err.println(s.imagesFound() + " image(s): " + s.succeeded() + " succeeded, " + s.failed() + " failed, "
                    + s.noResult() + " without result; " + s.newImages() + " new, " + s.changed() + " changed, "
                    + s.unchanged() + " unchanged, " + s.removed() + " removed");
            for (String f : List.of("report.html", "report.csv", "report.json")) {
                System.out.println(out.reportDir().resolve(f));
            }
            return s.noResult() > 0 ? ExitCodes.TIMEOUT : ExitCodes.OK;
        }
    }

    private static JsonNode typed(ObjectMapper json, String v) {
        try {
            return json.readTree(v);
        } catch (Exception e) {
            return json.getNodeFactory().textNode(v);
        }
    }
}
