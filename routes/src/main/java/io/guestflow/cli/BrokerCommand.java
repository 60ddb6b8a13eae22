package io.guestflow.cli;

import io.guestflow.engine.EmbeddedKafkaBroker;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code guestflow broker}: the embedded single-node KRaft broker on its own,
 * so that several engines (and the fault suite) can share one cluster.
 */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = {"Run the embedded single-node Kafka broker alone (data in --data-dir), for several engines",
            "started with --bootstrap-servers. With --port it listens there on every start, so a restarted broker is",
            "found again at the same address. Stops on SIGINT/SIGTERM."})
public final class BrokerCommand implements Callable<Integer> {
    @Option(names = "--data-dir", required = true, description = "Kafka storage (formatted on first use, reused after).")
    Path dataDir;

    @Option(names = "--port", description = "Listener port (127.0.0.1). Default: a free port, printed on stdout.")
    Integer port;

    @Override
    public Integer call() throws Exception {
        EmbeddedKafkaBroker broker = port == null ? EmbeddedKafkaBroker.start(dataDir)
                : EmbeddedKafkaBroker.startOnPorts(dataDir, port, 0);
        System.out.println(broker.bootstrapServers());
        System.out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            broker.close();
            stopped.countDown();
            org.apache.logging.log4j.LogManager.shutdown();
        }, "guestflow-broker-shutdown"));
        stopped.await();
        return ExitCodes.OK;
    }
}
