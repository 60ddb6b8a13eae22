package io.guestflow.cli;

import io.guestflow.config.GuestflowConfig;
import io.guestflow.engine.Engine;
import io.guestflow.engine.EngineConfig;
import io.guestflow.scan.ScanConfig;
import io.guestflow.settings.Configuration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code guestflow run}: the service. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run the engine: consume jobs from Kafka, run them on the appliance pool, publish results and events.",
            "Without bootstrap servers it starts an embedded single-node Kafka broker (data in guestflow.engine.data-dir).",
            "Consumes nothing until the broker answers, the topics exist and the results index is caught up;",
            "retries with backoff, and exits 6 after guestflow.engine.startup-timeout-seconds.",
            "Stops on SIGINT/SIGTERM: running jobs get the pool's grace period."})
public final class RunCommand implements Callable<Integer> {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RunCommand.class);

    @Mixin
    EngineOptions options = new EngineOptions();

    @Override
    public Integer call() throws Exception {
        Configuration conf = options.configuration();
        Logging.useFormat(conf.get(GuestflowConfig.LOG_FORMAT));
        // a service says what it does: guestflow's own INFO lines (broker, topics, jobs), unless -v asked for more
        if (!org.apache.logging.log4j.LogManager.getLogger("io.guestflow").isDebugEnabled()) {
            org.apache.logging.log4j.core.config.Configurator.setLevel("io.guestflow", org.apache.logging.log4j.Level.INFO);
        }
        conf.warnings().forEach(w -> LOG.warn("configuration: {}", w));
        EngineConfig cfg = EngineConfig.from(conf);
        List<ScanConfig> scans = ScanConfig.all(conf);
        Engine engine;
        try {
            engine = Engine.start(cfg, scans, conf.get(EngineConfig.REPORTS_DIR));
        } catch (Engine.NotReadyException e) {
            LOG.error("{}", e.getMessage());
            return ExitCodes.NOT_READY;
        }
        // a log line, so that it is JSON too when the log format is
        LOG.info("guestflow engine running; Kafka at {}; jobs topic {}; management endpoint {}. Ctrl-C stops it.",
                engine.bootstrapServers(), cfg.topics().jobs(), engine.managementPort() == 0 ? "off"
                        : "on port " + engine.managementPort());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                engine.close();
            } catch (Exception e) {
                System.err.println("guestflow: error while stopping: " + e);
            } finally {
                stopped.countDown();
                // log4j's own shutdown hook is disabled so that the engine's last words are logged
                org.apache.logging.log4j.LogManager.shutdown();
            }
        }, "guestflow-shutdown"));
        stopped.await();
        return ExitCodes.OK;
    }
}
