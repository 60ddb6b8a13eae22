package io.guestflow.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;

/**
 * Single-node, combined-mode (broker + controller) Apache Kafka 4.3.x KRaft broker running in-process.
 * <p>
 * Uses a static controller quorum ({@code controller.quorum.voters}), so the controller port is NOT
 * persisted in the metadata log and fresh free ports can be picked on every start while the data
 * (topics, records, committed offsets) in {@code dataDir} is kept.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
    private static final int NODE_ID = 1;
    private static final String CONTROLLER_LISTENER = "CONTROLLER";
    private static final String BROKER_LISTENER = "PLAINTEXT";
    private static final String LOOPBACK = "127.0.0.1";

    private final KafkaRaftServer server;
    private final String bootstrapServers;
    private final String clusterId;
    private final Path dataDir;
    private boolean closed;

    private EmbeddedKafkaBroker(KafkaRaftServer server, String bootstrapServers, String clusterId, Path dataDir) {
        this.server = server;
        this.bootstrapServers = bootstrapServers;
        this.clusterId = clusterId;
        this.dataDir = dataDir;
    }

    public static EmbeddedKafkaBroker start(Path dataDir) {
        return start(dataDir, Map.of());
    }

    /**
     * @param dataDir   log.dirs (also the metadata log dir); formatted on first use, reused afterwards
     * @param overrides extra/overriding broker properties (applied last)
     */
    public static EmbeddedKafkaBroker start(Path dataDir, Map<String, String> overrides) {
        return start(dataDir, overrides, 0, 0);
    }

    /**
     * A broker on fixed loopback ports, so that one stopped and started again on
     * the same data comes back at the same address (clients reconnect by themselves).
     * A port of 0 is a free one.
     */
    public static EmbeddedKafkaBroker startOnPorts(Path dataDir, int brokerPort, int controllerPort) {
        return start(dataDir, Map.of(), brokerPort, controllerPort);
    }

    private static EmbeddedKafkaBroker start(Path dataDir, Map<String, String> overrides, int fixedBrokerPort,
                                             int fixedControllerPort) {
        long t0 = System.nanoTime();
        Path dir = dataDir.toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create Kafka data dir " + dir, e);
        }

        // Free ports can be stolen between probe and bind -> retry a few times with new ports.
        RuntimeException last = null;
        for (int attempt = 1; attempt <= 3; attempt++) {
            int brokerPort = fixedBrokerPort > 0 ? fixedBrokerPort : freePort();
            int controllerPort = fixedControllerPort > 0 ? fixedControllerPort : freePort();
            while (controllerPort == brokerPort) {
                controllerPort = freePort();
            }
            Map<String, String> props = brokerProps(dir, brokerPort, controllerPort);
            props.putAll(overrides);
            KafkaConfig config = KafkaConfig.fromProps(toProperties(props), false);

            String clusterId = formatIfNeeded(dir, config);

            KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
            try {
                server.startup(); // blocks until the broker is caught up with metadata and unfenced
            } catch (RuntimeException e) {
                last = e;
                LOG.warn("Embedded Kafka startup attempt {} failed, shutting down: {}", attempt, e.toString());
                shutdownQuietly(server);
                if (!isBindProblem(e)) {
                    throw e;
                }
                if (fixedBrokerPort > 0) {
                    sleepQuietly(2000); // a fixed port just released by the previous broker: give it a moment
                }
                continue;
            }
            String bootstrap = LOOPBACK + ":" + brokerPort;
            EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(server, bootstrap, clusterId, dir);
            try {
                broker.awaitReady(Duration.ofSeconds(60));
            } catch (RuntimeException e) {
                broker.close();
                throw e;
            }
            broker.writeAddressFile();
            LOG.info("Embedded Kafka (cluster {}) ready at {} in {} ms, data in {}", clusterId, bootstrap,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), dir);
            return broker;
        }
        throw new IllegalStateException("Could not start embedded Kafka", last);
    }

    private static Map<String, String> brokerProps(Path dir, int brokerPort, int controllerPort) {
        Map<String, String> p = new HashMap<>();
        // KRaft combined mode, static single-voter quorum
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(NODE_ID));
        p.put("controller.quorum.voters", NODE_ID + "@" + LOOPBACK + ":" + controllerPort);
        p.put("listeners", BROKER_LISTENER + "://" + LOOPBACK + ":" + brokerPort + ","
                + CONTROLLER_LISTENER + "://" + LOOPBACK + ":" + controllerPort);
        p.put("advertised.listeners", BROKER_LISTENER + "://" + LOOPBACK + ":" + brokerPort);
        p.put("controller.listener.names", CONTROLLER_LISTENER);
        p.put("inter.broker.listener.name", BROKER_LISTENER);
        p.put("listener.security.protocol.map", BROKER_LISTENER + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
        p.put("log.dirs", dir.toString());
        // single node: everything RF=1 / ISR=1
        p.put("num.partitions", "1");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("share.coordinator.state.topic.num.partitions", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "false");
        // after a kill -9 the old registration blocks re-registration until its session expires: 9 s -> 3 s
        p.put("broker.session.timeout.ms", "3000");
        p.put("broker.heartbeat.interval.ms", "500");
        // keep the footprint small inside the application JVM
        p.put("log.cleaner.dedupe.buffer.size", String.valueOf(8L * 1024 * 1024)); // default 128 MiB heap!
        p.put("log.cleaner.threads", "1");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "2");
        p.put("background.threads", "2");
        p.put("num.recovery.threads.per.data.dir", "1");
        // no 'kafka.*' metrics reporters besides JMX; skip the usage ping
        p.put("auto.leader.rebalance.enable", "false");
        return p;
    }

    /** Formats dataDir unless meta.properties is already there; returns the cluster id in use. */
    private static String formatIfNeeded(Path dir, KafkaConfig config) {
        Path meta = dir.resolve("meta.properties");
        if (Files.exists(meta)) {
            Properties mp = new Properties();
            try (InputStream in = Files.newInputStream(meta)) {
                mp.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read " + meta, e);
            }
            String existing = mp.getProperty("cluster.id");
            if (existing == null || existing.isBlank()) {
                throw new IllegalStateException(meta + " has no cluster.id");
            }
            LOG.debug("Kafka data dir {} already formatted, cluster id {}", dir, existing);
            return existing;
        }
        String clusterId = Uuid.randomUuid().toString();
        try {
            new Formatter()
                    .setPrintStream(LoggingPrintStream.INSTANCE)
                    .setNodeId(NODE_ID)
                    .setClusterId(clusterId)
                    .setDirectories(List.of(dir.toString()))
                    .setMetadataLogDirectory(config.metadataLogDir())
                    .setControllerListenerName(CONTROLLER_LISTENER)
                    .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                    .setUnstableFeatureVersionsEnabled(false)
                    .setHasDynamicQuorum(false) // static controller.quorum.voters
                    .setIgnoreFormatted(true)
                    .run();
        } catch (Exception e) {
            throw new IllegalStateException("Formatting Kafka storage in " + dir + " failed", e);
        }
        LOG.info("Formatted Kafka data dir {} with cluster id {}", dir, clusterId);
        return clusterId;
    }

    private void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Admin admin = Admin.create(adminProps())) {
            while (true) {
                try {
                    int nodes = admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size();
                    if (nodes > 0) {
                        return;
                    }
                } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("Embedded Kafka not ready within " + timeout, e);
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Embedded Kafka not ready within " + timeout);
                }
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for embedded Kafka", e);
        }
    }

    private Map<String, Object> adminProps() {
        Map<String, Object> p = new HashMap<>();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "embedded-kafka-admin");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        return p;
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Name of the file in the data dir where a running broker leaves its address for clients (submit, tail). */
    static final String ADDRESS_FILE = "guestflow-bootstrap-servers";

    private void writeAddressFile() {
        try {
            Path tmp = dataDir.resolve(ADDRESS_FILE + ".tmp");
            Files.writeString(tmp, bootstrapServers + "\n");
            Files.move(tmp, dataDir.resolve(ADDRESS_FILE), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warn("cannot write {}: {}", dataDir.resolve(ADDRESS_FILE), e.getMessage());
        }
    }

    /** The address of the embedded broker running on {@code dataDir}, or null when none answers there. */
    public static String runningAddress(Path dataDir) {
        Path f = dataDir.toAbsolutePath().normalize().resolve(ADDRESS_FILE);
        try {
            String addr = Files.readString(f).strip();
            String[] hp = addr.split(":");
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 1000);
                return addr;
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    public String clusterId() {
        return clusterId;
    }

    public Path dataDir() {
        return dataDir;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        long t0 = System.nanoTime();
        try {
            Files.deleteIfExists(dataDir.resolve(ADDRESS_FILE));
        } catch (IOException e) {
            LOG.debug("cannot remove the address file: {}", e.getMessage());
        }
        shutdownQuietly(server);
        LOG.info("Embedded Kafka stopped in {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    private static void shutdownQuietly(KafkaRaftServer server) {
        try {
            server.shutdown();
            server.awaitShutdown();
        } catch (RuntimeException e) {
            LOG.warn("Error while shutting down embedded Kafka", e);
        }
    }

    private static boolean isBindProblem(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.BindException
                    || (t.getMessage() != null && t.getMessage().contains("Address already in use"))) {
                return true;
            }
        }
        return false;
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(InetAddress.getByName(LOOPBACK), 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("No free loopback port", e);
        }
    }

    private static Properties toProperties(Map<String, String> map) {
        Properties p = new Properties();
        p.putAll(map);
        return p;
    }

    /** Formatter prints progress to a PrintStream; route it to the logger instead of System.out. */
    private static final class LoggingPrintStream extends java.io.PrintStream {
        static final LoggingPrintStream INSTANCE = new LoggingPrintStream();

        private LoggingPrintStream() {
            super(java.io.OutputStream.nullOutputStream(), true, java.nio.charset.StandardCharsets.UTF_8);
        }

        @Override
        public void println(String x) {
            LOG.info("[kafka-storage] {}", x);
        }

        @Override
        public java.io.PrintStream printf(String format, Object... args) {
            LOG.info("[kafka-storage] {}", String.format(format, args).trim());
            return this;
        }
    }
}
