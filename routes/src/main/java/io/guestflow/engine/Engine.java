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
import io.guestflow.pool.Secrets;
import io.guestflow.processors.JobOperations;
import io.guestflow.processors.job.JobParser;
import io.guestflow.processors.job.OperationRegistry;
import io.guestflow.processors.job.PathPolicy;
import io.guestflow.processors.job.TempArtifacts;
import io.guestflow.settings.Setting;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
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
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
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
 * The long-running service: the management endpoint, Kafka (embedded when no
 * bootstrap servers are configured), its topics, the results index, the
 * claims, the handle pool, the jobs consumer and the scan routes.
 *
 * <p>Nothing is consumed before the engine is ready: the broker answers, the
 * topics exist (created when missing) with the settings the engine relies
 * on, and the results index and the claims are caught up. Until then start-up
 * says why (in the readiness checks "broker", "topics", "dedup-index",
 * "claims" and "engine" of {@link HealthChecks}, served on /health/ready) and
 * retries with backoff; after {@code startup-timeout-seconds} it gives up
 * ({@link NotReadyException}). Once running, the engine stops taking jobs
 * whenever the index or the claims stop following, and takes them again once
 * they are back: "engine" is up exactly while the jobs consumer takes jobs.
 *
 * <p>{@link #close()} stops taking jobs, lets running ones finish within the
 * pool's grace period (then kills them: no result, claims released, offsets
 * not committed, so they run again), and stops everything in reverse order.
 */
public final class Engine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    /** Start-up gave up: the broker, the topics or the results index were not there in time. */
    public static final class NotReadyException extends IllegalStateException {
        NotReadyException(String message) {
            super(message);
        }
    }

    private final EngineConfig config;
    private final HealthChecks health;
    private final EmbeddedKafkaBroker broker;
    private final Producer<String, byte[]> producer;
    private final Producer<String, byte[]> resultProducer;
    private final ResultIndex results;
    private final ClaimLedger claims;
    private final HandlePool pool;
    private final JobConsumer consumer;
    private final CamelContext camel;
    private final ScanRunner scans;
    private final BrokerProbe probe;
    private final ManagementServer management;
    private final PrometheusMeterRegistry registry;
    private volatile boolean stopping;

    private Engine(EngineConfig config, HealthChecks health, EmbeddedKafkaBroker broker, Producer<String, byte[]> producer,
                   Producer<String, byte[]> resultProducer, ResultIndex results, ClaimLedger claims, HandlePool pool,
                   JobConsumer consumer, CamelContext camel, ScanRunner scans, BrokerProbe probe,
                   ManagementServer management, PrometheusMeterRegistry registry) {
        this.config = config;
        this.health = health;
        this.probe = probe;
        this.management = management;
        this.registry = registry;
        this.broker = broker;
        this.producer = producer;
        this.resultProducer = resultProducer;
        this.results = results;
        this.claims = claims;
        this.pool = pool;
        this.consumer = consumer;
        this.camel = camel;
        this.scans = scans;
    }

    public static ObjectMapper json() {
        return new ObjectMapper().registerModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
    }

    public static Engine start(EngineConfig cfg) throws Exception {
        return start(cfg, List.of(), null);
    }

    public static Engine start(EngineConfig cfg, List<ScanConfig> scanConfigs, Path reportsDir) throws Exception {
        return start(cfg, scanConfigs, reportsDir, new HealthChecks());
    }

    /**
     * The engine with scheduled scans: one Quartz route per scan that has a
     * cron expression, reports under {@code reportsDir}. Returns once the
     * engine is ready and consuming.
     *
     * @param health the checks the engine's parts report into, readable (and served on the management
     *               endpoint) while start-up still waits for the broker
     * @throws NotReadyException when start-up timed out
     */
    public static Engine start(EngineConfig cfg, List<ScanConfig> scanConfigs, Path reportsDir, HealthChecks health)
            throws Exception {
        EmbeddedKafkaBroker broker = null;
        List<AutoCloseable> started = new ArrayList<>();
        // every part's check is registered now, DOWN ("starting"): not ready until each reports
        HealthChecks.Check engineCheck = health.readiness(ENGINE);
        HealthChecks.Check brokerCheck = health.readiness(BROKER);
        HealthChecks.Check topicsCheck = health.readiness(TOPICS);
        for (String part : List.of(DEDUP_INDEX, CLAIMS, POOL, SCANS)) {
            health.readiness(part);
        }
        engineCheck.down("starting");
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        EngineMetrics metrics = new EngineMetrics(registry);
        metrics.bindHealth(health);
        try {
            // the management endpoint is up first, so that probes see the engine start (not ready yet) and why
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
            // what jobs of a killed predecessor left: overlays, .part, .resizing, intermediates, output claims
            TempArtifacts.sweep(cfg.outputRoot(), tmpDirs(cfg));
            long deadline = cfg.startupTimeout().isZero() ? Long.MAX_VALUE
                    : System.nanoTime() + cfg.startupTimeout().toNanos();
            EngineConfig c = cfg;
            retry(engineCheck, brokerCheck, BROKER, deadline, () -> reachBroker(c));
            brokerCheck.up("Kafka cluster at " + cfg.bootstrapServers() + " answers");
            retry(engineCheck, topicsCheck, TOPICS, deadline, () -> ensureTopics(c));
            EngineConfig.Topics t = cfg.topics();
            topicsCheck.up("topics " + t.all() + " verified");
            // from now on the probe reports into "broker" and "topics" (and measures the group's lag)
            BrokerProbe probe = new BrokerProbe(clientProps(cfg), t.all(), cfg.groupId(), health, metrics,
                    Duration.ofSeconds(5));
            started.add(probe);
            ObjectMapper json = json();
            Producer<String, byte[]> producer = new KafkaProducer<>(producerProps(cfg), new StringSerializer(),
                    new ByteArraySerializer());
            started.add(producer);
            Duration resultDelivery = resultDeliveryTimeout(cfg);
            Producer<String, byte[]> resultProducer = new KafkaProducer<>(resultProducerProps(cfg, resultDelivery),
                    new StringSerializer(), new ByteArraySerializer());
            started.add(resultProducer);
            ResultIndex results = new ResultIndex(clientProps(cfg), t.results(), cfg.dedupIndexMaxJobs());
            started.add(results);
            health.readiness(DEDUP_INDEX).pullFrom(() -> results.caughtUp()
                    ? HealthChecks.Status.up(results.size() + " job(s) with a result known; " + results.reason())
                    : HealthChecks.Status.down("results index " + stateName(results) + ": " + results.reason()));
            metrics.bindDedupIndex(results::size);
            ClaimLedger claims = new ClaimLedger(clientProps(cfg), t.claims(), cfg.instanceId(),
                    cfg.claimLease(), resultProducer);
            started.add(claims);
            health.readiness(CLAIMS).pullFrom(() -> claims.caughtUp()
                    ? HealthChecks.Status.up(claims.reason())
                    : HealthChecks.Status.down("claims " + stateName(claims) + ": " + claims.reason()));
            retry(engineCheck, null, "results index", deadline, () -> awaitFollowing("results index", results));
            retry(engineCheck, null, "claims", deadline, () -> awaitFollowing("claims", claims));
            // the image policy's root is the image root: an image may make qemu open nothing outside it
            HandlePool pool = new HandlePool(cfg.pool(), new ImageProbe(cfg.pool().images().withRoot(cfg.imageRoot())));
            started.add(pool);
            health.readiness(POOL).pullFrom(() -> poolStatus(pool));
            metrics.bindPool(pool);
            String journalTopic = t.journal();
            OperationRegistry operations = JobOperations.defaults(cfg.sysprepHostScripts(),
                    job -> new KafkaJournalSink(producer, journalTopic, job.jobId(), json, metrics));
            EventPublisher events = new EventPublisher(producer, t.log(), cfg.instanceId(), json, metrics);
            JobRunner runner = new JobRunner(cfg, pool, operations, events);
            // the strict parser: the engine's longest timeout and its debug switch
            JobParser parser = new JobParser(operations, cfg.maxJobTimeout().toSeconds(), cfg.allowDebugJobs());
            PathPolicy paths = new PathPolicy(cfg.imageRoot(), cfg.outputRoot(), cfg.tmpRoot(), operations);
            JobFlow flow = new JobFlow(cfg, parser, paths, results, claims, runner,
                    new InspectBatchRunner(cfg, pool, runner, events, metrics), events, producer, resultProducer,
                    resultDelivery, pool, json, metrics);
            JobConsumer consumer = new JobConsumer(cfg, clientProps(cfg), flow, () -> {
                if (!results.caughtUp()) {
                    return "results index " + stateName(results) + ": " + results.reason();
                }
                if (!claims.caughtUp()) {
                    return "claims " + stateName(claims) + ": " + claims.reason();
                }
                return null;
            });
            CamelContext camel = new DefaultCamelContext();
            ScanRunner scans = null;
            if (!scanConfigs.isEmpty()) {
                scans = new ScanRunner(producer, clientProps(cfg), t.jobs(), t.results(), reportsDir,
                        results::hasResult, cfg.instanceId(), json);
                camel.addRoutes(new ScanRoutes(scanConfigs, scans, reportsDir, json));
                LOG.info("scheduled scans: {}; reports under {}", scanConfigs.stream()
                        .map(s -> s.name() + " (" + (s.cron() == null ? "on demand" : s.cron() + " " + s.timeZone()) + ")")
                        .toList(), reportsDir);
            }
            consumer.start();
            started.add(consumer);
            camel.start();
            started.add(camel);
            health.readiness(SCANS).pullFrom(() -> scansStatus(camel, scanConfigs));
            // the index and the claims reconnect by themselves; a poll loop that died does not
            health.liveness(CONSUMER_ALIVE).pullFrom(() -> consumer.stoppedBecause() == null
                    ? HealthChecks.Status.up("polling") : HealthChecks.Status.down(
                            "the jobs consumer stopped: " + Secrets.redact(consumer.stoppedBecause())));
            LOG.info("engine {} consuming {} ({} group protocol) with {} worker(s), {} appliance(s) at once, up to {} inspect"
                    + " job(s) per appliance, claims leased for {} s; images under {}, outputs under {}", cfg.instanceId(),
                    t.jobs(), Setting.text(cfg.groupProtocol()), cfg.effectiveConsumers(), pool.capacity(),
                    cfg.inspectBatchSize(), cfg.claimLease().toSeconds(), cfg.imageRoot(), cfg.outputRoot());
            Engine engine = new Engine(cfg, health, broker, producer, resultProducer, results, claims, pool, consumer,
                    camel, scans, probe, management, registry);
            // up exactly while the consumer takes jobs: the index and the claims follow, and it is not stopping
            String jobs = t.jobs();
            engineCheck.pullFrom(() -> {
                if (engine.stopping) {
                    return HealthChecks.Status.down("stopping");
                }
                String why = consumer.notReady();
                return why == null ? HealthChecks.Status.up("consuming " + jobs)
                        : HealthChecks.Status.down("taking no jobs: " + why);
            });
            return engine;
        } catch (Exception e) {
            engineCheck.down(e instanceof NotReadyException ? "start-up gave up: " + e.getMessage()
                    : "start-up failed: " + Secrets.redact(e.toString()));
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

    /** Readiness checks of the engine's parts (/health/ready lists them by these names). */
    public static final String ENGINE = "engine";
    public static final String BROKER = "broker";
    public static final String TOPICS = "topics";
    public static final String DEDUP_INDEX = "dedup-index";
    public static final String CLAIMS = "claims";
    public static final String POOL = "pool";
    public static final String SCANS = "scans";
    /** Liveness: the jobs consumer's poll loop runs. */
    public static final String CONSUMER_ALIVE = "jobs-consumer";

    private static String stateName(TopicFollower<?> f) {
        return f.state().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
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

    /** One start-up step that must succeed before the next. */
    @FunctionalInterface
    private interface Step {
        /** Null when done, else why not. */
        String attempt() throws Exception;
    }

    /**
     * Runs a start-up step until it succeeds, with backoff (1 s doubling to 30 s), saying why it
     * waits in {@code check} (when the step has a check of its own) and in the "engine" check.
     */
    private static void retry(HealthChecks.Check engineCheck, HealthChecks.Check check, String what, long deadlineNanos,
                              Step step) throws InterruptedException {
        Duration backoff = Duration.ofSeconds(1);
        while (true) {
            String why;
            try {
                why = step.attempt();
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                why = e.getCause() != null && e instanceof ExecutionException ? e.getCause().toString() : e.toString();
            }
            if (why == null) {
                return;
            }
            why = Secrets.redact(why);
            if (check != null) {
                check.down(why);
            }
            engineCheck.down("starting: waiting for the " + what + ": " + why);
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) {
                throw new NotReadyException("engine not ready: " + what + ": " + why + " (gave up after "
                        + "guestflow.engine.startup-timeout-seconds)");
            }
            Duration wait = Duration.ofNanos(Math.min(backoff.toNanos(), left));
            LOG.warn("not ready: {}: {}; retrying in {} s", what, why, Math.max(1, wait.toSeconds()));
            Thread.sleep(Math.max(1, wait.toMillis()));
            backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
        }
    }

    private static String reachBroker(EngineConfig cfg) throws Exception {
        Admin admin = Admin.create(adminProps(cfg));
        try {
            int nodes = admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size();
            return nodes > 0 ? null : "the cluster at " + cfg.bootstrapServers() + " has no broker";
        } catch (java.util.concurrent.TimeoutException e) {
            return "no broker answers at " + cfg.bootstrapServers();
        } finally {
            admin.close(Duration.ofSeconds(1)); // not the pending call's whole timeout
        }
    }

    private static String awaitFollowing(String what, TopicFollower<?> follower) throws InterruptedException {
        return follower.awaitCaughtUp(Duration.ofSeconds(30)) ? null : what + " " + follower.state() + ": " + follower.reason();
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

    public ResultIndex resultIndex() {
        return results;
    }

    public ClaimLedger claims() {
        return claims;
    }

    /** Why the jobs consumer takes nothing now, or null when it takes jobs. */
    public String consumerNotReady() {
        return consumer.notReady();
    }

    /** The jobs topic's partitions this instance owns now. */
    public java.util.Set<TopicPartition> ownedPartitions() {
        return consumer.assignment();
    }

    /** Common client settings: bootstrap servers plus every kafka.* pass-through property. */
    public static Map<String, Object> clientProps(EngineConfig cfg) {
        Map<String, Object> p = new HashMap<>(cfg.kafka());
        p.put("bootstrap.servers", cfg.bootstrapServers());
        return p;
    }

    static Map<String, Object> producerProps(EngineConfig cfg) {
        Map<String, Object> p = clientProps(cfg);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        return p;
    }

    /**
     * A result must land while the claim it was published under holds: half
     * a lease, at most two minutes (Kafka's default).
     */
    static Duration resultDeliveryTimeout(EngineConfig cfg) {
        Duration half = cfg.claimLease().dividedBy(2);
        return half.compareTo(Duration.ofMinutes(2)) > 0 ? Duration.ofMinutes(2) : half;
    }

    /** Results and claims: every send ends (delivered or failed) within the delivery timeout, never later. */
    static Map<String, Object> resultProducerProps(EngineConfig cfg, Duration delivery) {
        Map<String, Object> p = producerProps(cfg);
        long request = Math.max(500, delivery.toMillis() / 2 - 10);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(request));
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(delivery.toMillis()));
        // a send must not block the caller (the claim renewer) for longer than a part of the lease
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(Math.max(500, cfg.claimLease().toMillis() / 4)));
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "guestflow-results-" + cfg.instanceId());
        return p;
    }

    private static Map<String, Object> adminProps(EngineConfig cfg) {
        Map<String, Object> p = clientProps(cfg);
        p.putIfAbsent("request.timeout.ms", 10_000);
        p.putIfAbsent("default.api.timeout.ms", 15_000);
        return p;
    }

    /**
     * Creates the topics that are missing, then verifies them all: the jobs
     * topic exists, the results topic is compacted, the claims topic takes
     * the broker's timestamps and is not compacted. Null when they are fine,
     * else what is wrong.
     */
    static String ensureTopics(EngineConfig cfg) throws Exception {
        EngineConfig.Topics t = cfg.topics();
        Admin admin = Admin.create(adminProps(cfg));
        try {
            Set<String> existing = admin.listTopics().names().get(15, TimeUnit.SECONDS);
            List<NewTopic> wanted = new ArrayList<>();
            Optional<Short> rf = Optional.empty(); // broker default
            if (!existing.contains(t.jobs())) {
                wanted.add(new NewTopic(t.jobs(), Optional.of(cfg.jobPartitions()), rf));
            }
            if (!existing.contains(t.results())) {
                wanted.add(new NewTopic(t.results(), Optional.empty(), rf).configs(Map.of("cleanup.policy", "compact")));
            }
            if (!existing.contains(t.claims())) {
                wanted.add(new NewTopic(t.claims(), Optional.of(cfg.jobPartitions()), rf).configs(CLAIMS_TOPIC_CONFIG));
            }
            for (String name : List.of(t.log(), t.journal(), t.dlq())) {
                if (!existing.contains(name)) {
                    wanted.add(new NewTopic(name, Optional.empty(), rf));
                }
            }
            if (!wanted.isEmpty()) {
                for (var e : admin.createTopics(wanted).values().entrySet()) {
                    try {
                        e.getValue().get(15, TimeUnit.SECONDS);
                        LOG.info("created topic {}", e.getKey());
                    } catch (ExecutionException ex) {
                        if (!(ex.getCause() instanceof TopicExistsException)) {
                            // clusters that forbid topic creation: the operator creates them (config/topics.md)
                            LOG.warn("cannot create topic {}: {}", e.getKey(), ex.getCause().getMessage());
                        }
                    }
                }
            }
            return verifyTopics(admin, t);
        } finally {
            admin.close(Duration.ofSeconds(1));
        }
    }

    /** The claims topic: broker timestamps (one clock for every lease), deletion by age only. */
    static final Map<String, String> CLAIMS_TOPIC_CONFIG = Map.of(
            "message.timestamp.type", "LogAppendTime",
            "cleanup.policy", "delete",
            "retention.ms", String.valueOf(Duration.ofDays(1).toMillis()),
            "segment.ms", String.valueOf(Duration.ofHours(1).toMillis()));

    private static String verifyTopics(Admin admin, EngineConfig.Topics t) throws Exception {
        Set<String> existing = admin.listTopics().names().get(15, TimeUnit.SECONDS);
        List<String> missing = new ArrayList<>();
        for (String name : List.of(t.jobs(), t.results(), t.claims(), t.log(), t.journal(), t.dlq())) {
            if (!existing.contains(name)) {
                missing.add(name);
            }
        }
        if (!missing.isEmpty()) {
            return "topics missing: " + missing + " (not created: see the warnings above)";
        }
        ConfigResource results = new ConfigResource(ConfigResource.Type.TOPIC, t.results());
        ConfigResource claims = new ConfigResource(ConfigResource.Type.TOPIC, t.claims());
        Map<ConfigResource, Config> configs = admin.describeConfigs(List.of(results, claims)).all().get(15, TimeUnit.SECONDS);
        String resultsPolicy = value(configs.get(results), "cleanup.policy");
        if (resultsPolicy == null || !resultsPolicy.contains("compact")) {
            return "topic " + t.results() + " must be compacted (cleanup.policy=compact), has " + resultsPolicy;
        }
        String tsType = value(configs.get(claims), "message.timestamp.type");
        if (!"LogAppendTime".equals(tsType)) {
            return "topic " + t.claims() + " must have message.timestamp.type=LogAppendTime (leases use the broker's clock),"
                    + " has " + tsType;
        }
        String claimsPolicy = value(configs.get(claims), "cleanup.policy");
        if (claimsPolicy == null || claimsPolicy.contains("compact")) {
            return "topic " + t.claims() + " must not be compacted (cleanup.policy=delete), has " + claimsPolicy;
        }
        return null;
    }

    private static String value(Config c, String name) {
        ConfigEntry e = c == null ? null : c.get(name);
        return e == null ? null : e.value();
    }

    @Override
    public void close() throws Exception {
        stopping = true;
        if (scans != null) {
            // a run waiting for results would otherwise hold the Quartz thread through the shutdown
            scans.close();
        }
        camel.stop();
        consumer.stopTaking();
        if (!consumer.awaitIdle(config.pool().shutdownGrace())) {
            LOG.warn("jobs still running after {} s: killing them; they run again after a restart",
                    config.pool().shutdownGrace().toSeconds());
        }
        // kills what still runs: no result, claims released, offsets not committed
        pool.shutdown(Duration.ZERO);
        consumer.close();
        probe.close();
        claims.close();
        results.close();
        resultProducer.close(Duration.ofSeconds(10));
        producer.close(Duration.ofSeconds(10));
        if (broker != null) {
            broker.close();
        }
        if (management != null) {
            management.close();
        }
    }
}
