package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.engine.Engine;
import io.guestflow.engine.EngineConfig;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.PoolConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The journal and log topics through the engine on a real broker: a journal
 * job's records on {@code guestflow.journal} equal journalctl's entries for
 * the same filter, in order, before its result; a resize job's progress on
 * {@code guestflow.log} rises to 100 % in every call, named by its step.
 * Two appliance launches.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TopicStreamsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TestBroker broker;
    private Engine engine;
    private KafkaProducer<String, byte[]> producer;
    private KafkaConsumer<String, byte[]> reader;
    private Path work;
    private final List<ConsumerRecord<String, byte[]>> seen = new ArrayList<>();
    private List<Path> tmpBefore;

    @BeforeAll
    void start() throws Exception {
        tmpBefore = Leftovers.libguestfsTmpDirs();
        work = Files.createTempDirectory("guestflow-topics-test");
        Path images = Files.createDirectories(work.resolve("images"));
        // copies: the image root must hold them, and the caches are never handed to the engine
        Files.copy(JournalFixtures.image(JournalFixtures.Guest.JOURNAL), images.resolve("journal.qcow2"));
        Files.copy(ResizeFixtures.image(ResizeFixtures.Disk.MBR), images.resolve("mbr.qcow2"));
        Map<String, String> props = new HashMap<>();
        props.put("guestflow.engine.image-root", images.toString());
        props.put("guestflow.engine.output-root", Files.createDirectories(work.resolve("out")).toString());
        props.put("guestflow.engine.data-dir", work.resolve("kafka").toString());
        broker = TestBroker.start();
        EngineConfig cfg = EngineConfig.from(props, Map.of()).withPool(PoolConfig.defaults().withMaxAppliances(1))
                .withBootstrapServers(broker.bootstrapServers());
        engine = Engine.start(cfg);
        Map<String, Object> client = new HashMap<>(Engine.clientProps(engine.config()));
        producer = new KafkaProducer<>(client, new StringSerializer(), new ByteArraySerializer());
        Properties rp = new Properties();
        rp.putAll(client);
        rp.put("enable.auto.commit", "false");
        reader = new KafkaConsumer<>(rp, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = new ArrayList<>();
        for (String t : List.of(cfg.topics().results(), cfg.topics().log(), cfg.topics().journal())) {
            parts.addAll(Engine.partitions(reader, t));
        }
        reader.assign(parts);
        reader.seekToBeginning(parts);
    }

    @AfterAll
    void stop() throws Exception {
        if (reader != null) {
            reader.close();
        }
        if (producer != null) {
            producer.close();
        }
        if (engine != null) {
            engine.close();
        }
        if (broker != null) {
            broker.close();
        }
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isEmpty();
        assertThat(Leftovers.libguestfsTmpDirs()).as("/tmp/libguestfs* left behind").isSubsetOf(tmpBefore);
        FileTrees.delete(work);
    }

    private List<JsonNode> values(String topic, String key) {
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

    /** Submits {@code job} and reads every topic until its result arrives (and a moment after). */
    private JsonNode run(String id, String job) throws Exception {
        producer.send(new ProducerRecord<>(engine.config().topics().jobs(), id, job.getBytes(StandardCharsets.UTF_8))).get();
        String results = engine.config().topics().results();
        long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();
        while (values(results, id).isEmpty()) {
            assertThat(System.nanoTime()).as("result of " + id).isLessThan(deadline);
            reader.poll(Duration.ofMillis(300)).forEach(seen::add);
        }
        long settle = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < settle) {
            reader.poll(Duration.ofMillis(200)).forEach(seen::add);
        }
        return values(results, id).get(0);
    }

    @Test
    void aJournalJobPublishesJournalctlsEntriesInOrderBeforeItsResult() throws Exception {
        String id = "journal-p3";
        JsonNode result = run(id, "{\"jobId\":\"" + id + "\",\"type\":\"journal\",\"options\":{\"priority\":3},"
                + "\"disks\":[{\"uri\":\"" + work.resolve("images/journal.qcow2").toUri() + "\",\"format\":\"qcow2\"}]}");
        assertThat(result.path("status").asText()).as(result.toString()).isEqualTo("SUCCEEDED");
        List<JsonNode> records = values(engine.config().topics().journal(), id);
        List<String> ours = records.stream().map(r -> r.path("realtimeUsec").asText() + " " + r.path("message").asText()).toList();
        List<String> oracle = new ArrayList<>();
        String out = VirtTool.run(Duration.ofMinutes(2), "journalctl", "--no-pager", "-q", "-D",
                JournalFixtures.journalDir().toString(), "-p", "3", "-o", "json").orFail("journalctl").stdout();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                JsonNode e = JSON.readTree(line);
                oracle.add(e.path("__REALTIME_TIMESTAMP").asText() + " " + e.path("MESSAGE").asText());
            }
        }
        assertThat(ours).isNotEmpty().isEqualTo(oracle);
        assertThat(records).extracting(r -> r.path("seq").asLong())
                .isEqualTo(java.util.stream.LongStream.range(0, records.size()).boxed().toList());
        JsonNode summary = result.path("output");
        assertThat(summary.path("entries").asLong()).isEqualTo(records.size());
        assertThat(summary.path("scanned").asLong()).isEqualTo(JournalFixtures.ENTRIES);
        assertThat(summary.path("truncated").asBoolean()).isFalse();
        assertThat(summary.path("last").asText()).isEqualTo(records.get(records.size() - 1).path("realtime").asText());
        // every record was on the topic before the result: the result is published after the sink's last ack
        long lastRecordTime = -1;
        long resultSeenAt = -1;
        for (int i = 0; i < seen.size(); i++) {
            ConsumerRecord<String, byte[]> r = seen.get(i);
            if (id.equals(r.key()) && r.topic().equals(engine.config().topics().journal())) {
                lastRecordTime = Math.max(lastRecordTime, r.timestamp());
            }
            if (id.equals(r.key()) && r.topic().equals(engine.config().topics().results())) {
                resultSeenAt = r.timestamp();
            }
        }
        assertThat(lastRecordTime).isLessThanOrEqualTo(resultSeenAt);
    }

    @Test
    void aResizeJobsProgressRisesTo100InEveryCallAndNamesItsStep() throws Exception {
        String id = "resize-progress";
        JsonNode result = run(id, "{\"jobId\":\"" + id + "\",\"type\":\"resize\",\"options\":{\"size\":\"+64M\","
                + "\"expand\":\"/dev/sda2\"},\"disks\":[{\"uri\":\"" + work.resolve("images/mbr.qcow2").toUri()
                + "\",\"format\":\"qcow2\"}],\"output\":{\"uri\":\"" + work.resolve("out/mbr-big.qcow2").toUri() + "\"}}");
        assertThat(result.path("status").asText()).as(result.toString()).isEqualTo("SUCCEEDED");
        List<JsonNode> events = values(engine.config().topics().log(), id);
        assertThat(events).noneMatch(e -> e.path("type").asText().endsWith(".enter") || e.path("type").asText().endsWith(".trace"));
        List<JsonNode> progress = events.stream().filter(e -> e.path("type").asText().equals("io.guestflow.libguestfs.progress"))
                .map(e -> e.path("data")).toList();
        assertThat(progress).isNotEmpty().allMatch(d -> !d.path("step").asText().isEmpty());
        // one run per libguestfs call: the percentage never falls within a call, and every call ends at 100 %
        List<List<JsonNode>> runs = new ArrayList<>();
        List<JsonNode> run = new ArrayList<>();
        for (JsonNode d : progress) {
            if (!run.isEmpty() && (d.path("percent").asDouble() < run.get(run.size() - 1).path("percent").asDouble()
                    || !d.path("step").asText().equals(run.get(0).path("step").asText()))) {
                runs.add(run);
                run = new ArrayList<>();
            }
            run.add(d);
        }
        runs.add(run);
        assertThat(runs).anyMatch(r -> r.get(0).path("step").asText().equals("copy_device_to_device"));
        for (List<JsonNode> r : runs) {
            assertThat(r.get(r.size() - 1).path("percent").asDouble()).as("last progress of " + r.get(0).path("step")).isEqualTo(100.0);
            assertThat(r.get(r.size() - 1).path("position").asLong()).isEqualTo(r.get(r.size() - 1).path("total").asLong());
        }
        // at most four a second: two progress events closer than 250 ms only when the later ends a call
        List<JsonNode> envelopes = events.stream()
                .filter(e -> e.path("type").asText().equals("io.guestflow.libguestfs.progress")).toList();
        for (int i = 1; i < envelopes.size(); i++) {
            JsonNode d = envelopes.get(i).path("data");
            long gap = Duration.between(java.time.Instant.parse(envelopes.get(i - 1).path("time").asText()),
                    java.time.Instant.parse(envelopes.get(i).path("time").asText())).toMillis();
            if (d.path("position").asLong() < d.path("total").asLong()) {
                assertThat(gap).as("gap before progress event " + i + " " + d).isGreaterThanOrEqualTo(200);
            }
        }
    }
}
