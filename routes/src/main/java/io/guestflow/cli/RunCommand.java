package io.guestflow.cli;

import io.guestflow.engine.Engine;
import io.guestflow.engine.EngineConfig;
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
    @Mixin
    EngineOptions options = new EngineOptions();

    @Override
    public Integer call() throws Exception {
        EngineConfig cfg = options.engineConfig();
        // a service says what it does: guestflow's own INFO lines (broker, topics, jobs), unless -v asked for more
        if (!org.apache.logging.log4j.LogManager.getLogger("io.guestflow").isDebugEnabled()) {
            org.apache.logging.log4j.core.config.Configurator.setLevel("io.guestflow", org.apache.logging.log4j.Level.INFO);
        }
        java.util.Map<String, String> props = GuestflowCli.loadProperties(options.config);
        java.util.List<io.guestflow.scan.ScanConfig> scans = io.guestflow.scan.ScanConfig.all(props, System.getenv(), Engine.json());
        Engine engine;
        try {
            engine = Engine.start(cfg, scans, io.guestflow.scan.ScanConfig.reportsDir(props, System.getenv()));
        } catch (Engine.NotReadyException e) {
            System.err.println("guestflow: " + e.getMessage());
            return ExitCodes.NOT_READY;
        }
        System.err.println("guestflow engine running; Kafka at " + engine.bootstrapServers()
                + "; jobs topic " + cfg.topics().jobs() + ". Ctrl-C stops it.");
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
