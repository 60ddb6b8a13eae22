package io.guestflow.cli;

import io.guestflow.config.GuestflowConfig;
import io.guestflow.engine.EmbeddedKafkaBroker;
import io.guestflow.engine.EngineConfig;
import io.guestflow.settings.Configuration;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options of the commands that talk to Kafka: configuration file and bootstrap servers. */
public final class EngineOptions {
    @Option(names = "--config", paramLabel = "FILE",
            description = "Properties file with guestflow.* and kafka.* settings (see config/application.properties)."
                    + " Default: $GUESTFLOW_CONFIG, else /etc/guestflow/guestflow.properties when it exists.")
    Path config;

    @Option(names = {"-b", "--bootstrap-servers"}, paramLabel = "HOST:PORT,...",
            description = "Kafka cluster. Default: GUESTFLOW_ENGINE_BOOTSTRAP_SERVERS, the configuration, else the embedded broker.")
    String bootstrapServers;

    private Configuration loaded;

    /** Defaults, then the file, then the environment, then command-line flags; checked once. */
    Configuration configuration() {
        if (loaded == null) {
            Configuration c = GuestflowConfig.load(config, System.getenv());
            if (bootstrapServers != null) {
                c = c.with(EngineConfig.BOOTSTRAP_SERVERS.key(), bootstrapServers, "command line --bootstrap-servers");
            }
            loaded = c;
        }
        return loaded;
    }

    EngineConfig engineConfig() {
        return EngineConfig.from(configuration());
    }

    /**
     * For clients (submit, tail): the configured cluster, or the address a
     * running {@code guestflow run} wrote for its embedded broker.
     */
    String clientBootstrap(EngineConfig c) {
        if (!c.embedded()) {
            return c.bootstrapServers();
        }
        String running = EmbeddedKafkaBroker.runningAddress(c.dataDir());
        if (running == null) {
            throw new IllegalArgumentException("no Kafka cluster configured and no embedded broker running for "
                    + c.dataDir() + ": start 'bin/guestflow run' first, or pass --bootstrap-servers");
        }
        return running;
    }
}
