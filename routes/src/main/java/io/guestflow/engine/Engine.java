package io.guestflow.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.ImageProbe;
import io.guestflow.processors.job.TempArtifacts;
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

    private Engine(EngineConfig config, EmbeddedKafkaBroker broker, Producer<String, byte[]> producer,
                   ResultIndex results, HandlePool pool, CamelContext camel, ScanRunner scans) {
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
        try {
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
            ObjectMapper json = json();
            Producer<String, byte[]> producer = new KafkaProducer<>(producerProps(cfg), new StringSerializer(),
                    new ByteArraySerializer());
            started.add(producer);
            ResultIndex results = new ResultIndex(clientProps(cfg), cfg.topics().results());
            started.add(results);
            if (!results.awaitCaughtUp(Duration.ofMinutes(2))) {
                throw new IllegalStateException("could not read the results topic " + cfg.topics().results());
            }
            // the image policy's root is the image root: an image may make qemu open nothing outside it
            HandlePool pool = new HandlePool(cfg.pool(), new ImageProbe(cfg.pool().images().withRoot(cfg.imageRoot())));
            started.add(pool);
            String journalTopic = cfg.topics().journal();
            OperationRegistry registry = OperationRegistry.defaults(cfg.sysprepHostScripts(),
                    job -> new KafkaJournalSink(producer, journalTopic, job.jobId(), json));
            EventPublisher events = new EventPublisher(producer, cfg.topics().log(), cfg.instanceId(), json);
            JobRunner runner = new JobRunner(cfg, pool, registry, events);
            CamelContext camel = new DefaultCamelContext();
            // a stop lets running jobs finish within the pool's grace period, then the pool kills them
            camel.getShutdownStrategy().setTimeout(cfg.pool().shutdownGrace().toSeconds() + 5);
            JobParser parser = new JobParser(registry, cfg.maxJobTimeout().toSeconds(), cfg.allowDebugJobs());
            PathPolicy paths = new PathPolicy(cfg.imageRoot(), cfg.outputRoot(), cfg.tmpRoot(), registry);
            camel.addRoutes(new JobRoutes(cfg, parser, paths,
                    results, runner, new InspectBatchRunner(cfg, pool, runner, events), events, producer, json));
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
            LOG.info("engine {} consuming {} with {} consumer(s), {} appliance(s) at once, up to {} inspect job(s) per appliance;"
                    + " images under {}, outputs under {}", cfg.instanceId(), cfg.topics().jobs(), cfg.effectiveConsumers(),
                    pool.capacity(), cfg.inspectBatchSize(), cfg.imageRoot(), cfg.outputRoot());
            return new Engine(cfg, broker, producer, results, pool, camel, scans);
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
        if (scans != null) {
            // a run waiting for results would otherwise hold the Quartz thread through the shutdown
            scans.close();
        }
        camel.stop();
        pool.shutdown(config.pool().shutdownGrace());
        results.close();
        producer.close(Duration.ofSeconds(10));
        if (broker != null) {
            broker.close();
        }
    }
}
