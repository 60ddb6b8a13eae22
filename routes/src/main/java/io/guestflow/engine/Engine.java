package io.guestflow.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.guestflow.management.BrokerProbe;
import io.guestflow.management.EngineMetrics;
import io.guestflow.management.HealthChecks;
import io.guestflow.management.ManagementServer;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.ImageProbe;
import io.guestflow.pool.PoolMetrics;
import io.guestflow.processors.job.TempArtifacts;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.guestflow.processors.job.JobParser;
import io.guestflow.processors.job.OperationRegistry;
import io.guestflow.processors.job.PathPolicy;
import io.guestflow.scan.ScanConfig;
import io.guestflow.scan.ScanRoutes;
import io.guestflow.scan.ScanRunner;
import java.nio.file.Path;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The long-running service: Kafka (embedded when no bootstrap servers are
 * configured), its topics, the result index, the handle pool and the Camel
 * routes. {@link #close()} stops taking jobs, lets running ones finish
 * within the pool's grace period, and stops everything in reverse order.
 */
public final class Engine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

    private final EngineConfig config;
    private final EmbeddedKafkaBroker broker;
    private final Producer<String, byte[]> producer;
    private final ResultIndex results;
    private final HandlePool pool;
    private final CamelContext camel;
    private final ScanRunner scans;
    private final BrokerProbe probe;
    private final ManagementServer management;
    private final HealthChecks health;
    private final PrometheusMeterRegistry registry;
    private final HealthChecks.Check engineCheck;

    private Engine(EngineConfig config, EmbeddedKafkaBroker broker, Producer<String, byte[]> producer,
                   ResultIndex results, HandlePool pool, CamelContext camel, ScanRunner scans, BrokerProbe probe,
                   ManagementServer management, HealthChecks health, PrometheusMeterRegistry registry,
                   HealthChecks.Check engineCheck) {
        this.probe = probe;
        this.management = management;
        this.health = health;
        this.registry = registry;
        this.engineCheck = engineCheck;
        this.scans = scans;
        this.config = config;
        this.broker = broker;
        this.producer = producer;
        this.results = results;
        this.pool = pool;
        this.camel = camel;
    }

    public static ObjectMapper json() {
        return new ObjectMapper().registerModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    }

    public static Engine start(EngineConfig cfg) throws Exception {
        return start(cfg, List.of(), null);
    }

    /**
     * The engine with scheduled scans: one Quartz route per scan that has a
     * cron expression, reports under {@code reportsDir}.
     */
    public static Engine start(EngineConfig cfg, List<ScanConfig> scanConfigs, Path reportsDir) throws Exception {
        EmbeddedKafkaBroker broker = null;
        List<AutoCloseable> started = new ArrayList<>();
        // the management endpoint is up first, so that probes see the engine start (not ready yet) and why
        HealthChecks health = new HealthChecks();
        HealthChecks.Check engineCheck = health.readiness("engine");
        for (String part : List.of("broker", "topics", "dedup-index", "pool", "scans")) {
            health.readiness(part);
        }
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        EngineMetrics metrics = new EngineMetrics(registry);
        metrics.bindHealth(health);
        try {
            ManagementServer management = null;
            if (cfg.managementPort() > 0) {
                management = ManagementServer.start(cfg.managementHost(), cfg.managementPort(), health, registry);
                started.add(management);
            }
            if (cfg.embedded()) {
                broker = EmbeddedKafkaBroker.start(cfg.dataDir());
                started.add(broker);
                cfg = cfg.withBootstrapServers(broker.bootstrapServers());
                LOG.info("no bootstrap servers configured: started the embedded Kafka broker at {} (data in {})",
                        broker.bootstrapServers(), cfg.dataDir());
            }
            Files.createDirectories(cfg.imageRoot());
            Files.createDirectories(cfg.outputRoot());
            Files.createDirectories(cfg.tmpRoot());
            // what jobs of a killed predecessor left: overlays, .part, .resizing, intermediates, claims
            TempArtifacts.sweep(cfg.outputRoot(), tmpDirs(cfg));
            ensureTopics(cfg);
            EngineConfig.Topics t = cfg.topics();
            BrokerProbe probe = new BrokerProbe(clientProps(cfg), List.of(t.jobs(), t.results(), t.log(), t.journal(), t.dlq()),
                    cfg.groupId(), health, metrics, Duration.ofSeconds(5));
            started.add(probe);
            ObjectMapper json = json();
            Producer<String, byte[]> producer = new KafkaProducer<>(producerProps(cfg), new StringSerializer(),
                    new ByteArraySerializer());
            started.add(producer);
            ResultIndex results = new ResultIndex(clientProps(cfg), cfg.topics().results());
            started.add(results);
            String resultsTopic = cfg.topics().results();
            health.readiness("dedup-index").pullFrom(() -> results.caughtUp()
                    ? HealthChecks.Status.up(results.size() + " job(s) with a result known")
                    : HealthChecks.Status.down(results.stoppedBecause() != null
                            ? "stopped following " + resultsTopic + ": " + results.stoppedBecause()
                            : "reading the results topic " + resultsTopic));
            metrics.bindDedupIndex(results::size);
            // an index that stopped following the topic stays stopped: a restart cures it
            health.liveness("dedup-index-follower").pullFrom(() -> results.stoppedBecause() == null
                    ? HealthChecks.Status.up("following " + resultsTopic)
                    : HealthChecks.Status.down("stopped following " + resultsTopic + ": " + results.stoppedBecause()));
            if (!results.awaitCaughtUp(Duration.ofMinutes(2))) {
                throw new IllegalStateException("could not read the results topic " + cfg.topics().results());
            }
            // the image policy's root is the image root: an image may make qemu open nothing outside it
            HandlePool pool = new HandlePool(cfg.pool(), new ImageProbe(cfg.pool().images().withRoot(cfg.imageRoot())));
            started.add(pool);
            health.readiness("pool").pullFrom(() -> poolStatus(pool));
            metrics.bindPool(pool);
            String journalTopic = cfg.topics().journal();
            OperationRegistry operations = OperationRegistry.defaults(cfg.sysprepHostScripts(),
                    job -> new KafkaJournalSink(producer, journalTopic, job.jobId(), json, metrics));
            EventPublisher events = new EventPublisher(producer, cfg.topics().log(), cfg.instanceId(), json, metrics);
            JobRunner runner = new JobRunner(cfg, pool, operations, events);
            CamelContext camel = new DefaultCamelContext();
            // a stop lets running jobs finish within the pool's grace period, then the pool kills them
            camel.getShutdownStrategy().setTimeout(cfg.pool().shutdownGrace().toSeconds() + 5);
            JobParser parser = new JobParser(operations, cfg.maxJobTimeout().toSeconds(), cfg.allowDebugJobs());
            PathPolicy paths = new PathPolicy(cfg.imageRoot(), cfg.outputRoot(), cfg.tmpRoot(), operations);
            camel.addRoutes(new JobRoutes(cfg, parser, paths, results, runner,
                    new InspectBatchRunner(cfg, pool, runner, events, metrics), events, producer, json, metrics));
            ScanRunner scans = null;
            if (!scanConfigs.isEmpty()) {
                scans = new ScanRunner(producer, clientProps(cfg), cfg.topics().jobs(), cfg.topics().results(), reportsDir,
                        results::hasResult, cfg.instanceId(), json);
                camel.addRoutes(new ScanRoutes(scanConfigs, scans, reportsDir, json));
                LOG.info("scheduled scans: {}; reports under {}", scanConfigs.stream()
                        .map(s -> s.name() + " (" + (s.cron() == null ? "on demand" : s.cron() + " " + s.timeZone()) + ")")
                        .toList(), reportsDir);
            }
            camel.start();
            health.readiness("scans").pullFrom(() -> scansStatus(camel, scanConfigs));
            LOG.info("engine {} consuming {} with {} consumer(s), {} appliance(s) at once, up to {} inspect job(s) per appliance;"
                    + " images under {}, outputs under {}", cfg.instanceId(), cfg.topics().jobs(), cfg.effectiveConsumers(),
                    pool.capacity(), cfg.inspectBatchSize(), cfg.imageRoot(), cfg.outputRoot());
            engineCheck.up("consuming " + cfg.topics().jobs());
            return new Engine(cfg, broker, producer, results, pool, camel, scans, probe, management, health, registry,
                    engineCheck);
        } catch (Exception e) {
            for (int i = started.size() - 1; i >= 0; i--) {
                try {
                    started.get(i).close();
                } catch (Exception ignored) {
                    // already failing
                }
            }
            throw e;
        }
    }

    /** Usable: not shutting down, and appliances still start (three failed launches in a row say they do not). */
    private static HealthChecks.Status poolStatus(HandlePool pool) {
        if (pool.isClosing()) {
            return HealthChecks.Status.down("the pool is shutting down");
        }
        int failed = pool.consecutiveLaunchFailures();
        if (failed >= 3) {
            return HealthChecks.Status.down("the last " + failed + " appliance launches failed: " + pool.lastLaunchFailure());
        }
        PoolMetrics m = pool.metrics();
        return HealthChecks.Status.up(m.busy() + " of " + m.capacity() + " appliance slot(s) busy, " + m.waiting() + " waiting");
    }

    /** Every scan with a cron has its Quartz route started. */
    private static HealthChecks.Status scansStatus(CamelContext camel, List<ScanConfig> scans) {
        List<String> scheduled = new ArrayList<>();
        for (ScanConfig s : scans) {
            if (s.cron() == null) {
                continue;
            }
            org.apache.camel.ServiceStatus st = camel.getRouteController().getRouteStatus("guestflow-scan-" + s.name());
            if (st == null || !st.isStarted()) {
                return HealthChecks.Status.down("scan " + s.name() + " is not scheduled (" + st + ")");
            }
            scheduled.add(s.name());
        }
        return HealthChecks.Status.up(scheduled.isEmpty() ? "no scheduled scans" : "scheduled: " + scheduled);
    }

    /** The folders jobs create temporary files in, besides the output root. */
    public static List<Path> tmpDirs(EngineConfig cfg) {
        return List.of(Path.of(System.getProperty("java.io.tmpdir")), cfg.tmpRoot());
    }

    public EngineConfig config() {
        return config;
    }

    public String bootstrapServers() {
        return config.bootstrapServers();
    }

    public HandlePool pool() {
        return pool;
    }

    /** The readiness and liveness checks the parts report into. */
    public HealthChecks health() {
        return health;
    }

    /** The metrics /metrics serves. */
    public PrometheusMeterRegistry metrics() {
        return registry;
    }

    /** The port the management endpoint listens on; 0 when it is off. */
    public int managementPort() {
        return management == null ? 0 : management.port();
    }

    /** Common client settings: bootstrap servers plus every kafka.* pass-through property. */
    public static Map<String, Object> clientProps(EngineConfig cfg) {
        Map<String, Object> p = new HashMap<>(cfg.kafka());
        p.put("bootstrap.servers", cfg.bootstrapServers());
        return p;
    }

    /** Every partition of {@code topic}, for consumers that assign rather than subscribe. */
    public static List<TopicPartition> partitions(Consumer<?, ?> consumer, String topic) {
        return consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                .map(pi -> new TopicPartition(topic, pi.partition())).toList();
    }

    static Map<String, Object> producerProps(EngineConfig cfg) {
        Map<String, Object> p = clientProps(cfg);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        return p;
    }

    static void ensureTopics(EngineConfig cfg) throws InterruptedException {
        try (Admin admin = Admin.create(clientProps(cfg))) {
            Set<String> existing = admin.listTopics().names().get();
            List<NewTopic> wanted = new ArrayList<>();
            EngineConfig.Topics t = cfg.topics();
            short rf = -1; // broker default
            if (!existing.contains(t.jobs())) {
                wanted.add(new NewTopic(t.jobs(), java.util.Optional.of(cfg.jobPartitions()), java.util.Optional.of(rf)));
            }
            if (!existing.contains(t.results())) {
                wanted.add(new NewTopic(t.results(), java.util.Optional.empty(), java.util.Optional.of(rf))
                        .configs(Map.of("cleanup.policy", "compact")));
            }
            for (String name : List.of(t.log(), t.journal(), t.dlq())) {
                if (!existing.contains(name)) {
                    wanted.add(new NewTopic(name, java.util.Optional.empty(), java.util.Optional.of(rf)));
                }
            }
            if (!wanted.isEmpty()) {
                admin.createTopics(wanted).all().get();
                LOG.info("created topics {}", wanted.stream().map(NewTopic::name).toList());
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TopicExistsException) {
                return;
            }
            // clusters that forbid topic creation: the operator creates them (config/topics.md)
            LOG.warn("cannot create topics: {}", e.getCause().getMessage());
        }
    }

    @Override
    public void close() throws Exception {
        engineCheck.down("stopping");
        if (scans != null) {
            // a run waiting for results would otherwise hold the Quartz thread through the shutdown
            scans.close();
        }
        camel.stop();
        pool.shutdown(config.pool().shutdownGrace());
        probe.close();
        results.close();
        producer.close(Duration.ofSeconds(10));
        if (broker != null) {
            broker.close();
        }
        if (management != null) {
            management.close();
        }
    }
}
