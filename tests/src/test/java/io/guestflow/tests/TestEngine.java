package io.guestflow.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.config.GuestflowConfig;
import io.guestflow.engine.Engine;
import io.guestflow.engine.EngineConfig;
import io.guestflow.kafka.Partitions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * An engine on a real broker ({@link TestBroker}) for one test class: one
 * appliance, images under {@code imageRoot}, outputs under {@code work/out},
 * scans as the given {@code guestflow.scan.*} properties say; a producer for
 * jobs and a reader of every topic (jobs, results, log, journal, dead
 * letters) from its beginning.
 */
final class TestEngine implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TestBroker broker;
    private final Engine engine;
    private final KafkaProducer<String, byte[]> producer;
    private final KafkaConsumer<String, byte[]> reader;
    private final List<ConsumerRecord<String, byte[]>> seen = new ArrayList<>();

    private TestEngine(TestBroker broker, Engine engine, KafkaProducer<String, byte[]> producer,
                       KafkaConsumer<String, byte[]> reader) {
        this.broker = broker;
        this.engine = engine;
        this.producer = producer;
        this.reader = reader;
    }

    static TestEngine start(Path imageRoot, Path work) throws Exception {
        return start(imageRoot, work, Map.of());
    }

    /** @param moreProps further configuration, e.g. {@code guestflow.scan.NAME.*} and {@code guestflow.engine.reports-dir} */
    static TestEngine start(Path imageRoot, Path work, Map<String, String> moreProps) throws Exception {
        Map<String, String> props = new HashMap<>();
        props.put("guestflow.engine.image-root", imageRoot.toString());
        props.put("guestflow.engine.output-root", Files.createDirectories(work.resolve("out")).toString());
        props.put("guestflow.engine.data-dir", work.resolve("kafka").toString());
        props.put("guestflow.engine.tmp-root", work.resolve("tmp").toString());
        props.put("guestflow.engine.reports-dir", work.resolve("reports").toString());
        // off: test classes (and other checkouts' tests) would all want port 9876; ManagementEndpointTest turns it on
        props.put("guestflow.engine.management-port", "0");
        props.putAll(moreProps);
        TestBroker broker = TestBroker.start();
        try {
            // one appliance; other guestflow.pool.* settings as the properties say
            EngineConfig given = GuestflowConfig.engine(props, Map.of());
            EngineConfig cfg = given.withPool(given.pool().withMaxAppliances(1)).withBootstrapServers(broker.bootstrapServers());
            Engine engine = Engine.start(cfg, GuestflowConfig.scans(props, Map.of()), GuestflowConfig.reportsDir(props, Map.of()));
            Map<String, Object> client = new HashMap<>(Engine.clientProps(engine.config()));
            KafkaProducer<String, byte[]> producer = new KafkaProducer<>(client, new StringSerializer(), new ByteArraySerializer());
            Properties rp = new Properties();
            rp.putAll(client);
            rp.put("enable.auto.commit", "false");
            KafkaConsumer<String, byte[]> reader = new KafkaConsumer<>(rp, new StringDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> parts = new ArrayList<>();
            for (String t : List.of(cfg.topics().jobs(), cfg.topics().results(), cfg.topics().log(), cfg.topics().journal(),
                    cfg.topics().dlq())) {
                parts.addAll(Partitions.of(reader, t));
            }
            reader.assign(parts);
            reader.seekToBeginning(parts);
            return new TestEngine(broker, engine, producer, reader);
        } catch (Exception | AssertionError e) {
            broker.close();
            throw e;
        }
    }

    EngineConfig.Topics topics() {
        return engine.config().topics();
    }

    /** Submits {@code job} as {@code jobId} and reads every topic until its result arrives, and a moment after. */
    JsonNode run(String jobId, String job, Duration timeout) throws Exception {
        producer.send(new ProducerRecord<>(topics().jobs(), jobId, job.getBytes(StandardCharsets.UTF_8))).get();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (values(topics().results(), jobId).isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no result for " + jobId + " in " + timeout);
            }
            poll();
        }
        long settle = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < settle) {
            reader.poll(Duration.ofMillis(200)).forEach(seen::add);
        }
        return values(topics().results(), jobId).get(0);
    }

    /** Reads what has arrived on the topics since the last read (waits up to 300 ms for something). */
    void poll() {
        reader.poll(Duration.ofMillis(300)).forEach(seen::add);
    }

    /** Produces every job (jobId → JSON) in order, in one go, so that one poll can take them together. */
    void submitAll(Map<String, String> jobs) throws Exception {
        List<Future<?>> sent = new ArrayList<>();
        jobs.forEach((id, job) -> sent.add(producer.send(
                new ProducerRecord<>(topics().jobs(), id, job.getBytes(StandardCharsets.UTF_8)))));
        producer.flush();
        for (Future<?> f : sent) {
            f.get();
        }
    }

    /** Reads every topic until each of {@code jobIds} has its result; returns them by jobId. */
    Map<String, JsonNode> awaitResults(Collection<String> jobIds, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<String, JsonNode> out = new LinkedHashMap<>();
        while (true) {
            for (String id : jobIds) {
                List<JsonNode> r = values(topics().results(), id);
                if (!r.isEmpty()) {
                    out.put(id, r.get(0));
                }
            }
            if (out.size() == jobIds.size()) {
                return out;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("results for " + out.keySet() + " only, of " + jobIds + ", in " + timeout);
            }
            reader.poll(Duration.ofMillis(300)).forEach(seen::add);
        }
    }

    Engine engine() {
        return engine;
    }

    /** Every record read so far, in the order read. */
    List<ConsumerRecord<String, byte[]>> seen() {
        return seen;
    }

    /** The records of {@code topic} read so far, in the order read. */
    List<ConsumerRecord<String, byte[]>> records(String topic) {
        return seen.stream().filter(r -> r.topic().equals(topic)).toList();
    }

    /** The values of {@code topic}'s records with {@code key}, as JSON, in the order read. */
    List<JsonNode> values(String topic, String key) {
        List<JsonNode> out = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : seen) {
            if (r.topic().equals(topic) && key.equals(r.key())) {
                try {
                    out.add(JSON.readTree(r.value()));
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }
        }
        return out;
    }

    @Override
    public void close() throws Exception {
        try (broker; engine; producer; reader) {
            // closed in reverse order: reader, producer, engine, broker
        }
    }
}
