package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.guestflow.config.GuestflowConfig;
import io.guestflow.engine.Engine;
import io.guestflow.engine.EngineConfig;
import io.guestflow.pool.PoolConfig;
import io.guestflow.processors.job.JobParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Delivery on a real broker with two engines in one consumer group, with
 * {@code info} jobs (qemu-img only: no appliance is launched by this class):
 * no message wedges a partition, a result is never replaced by a worse one,
 * a rerun is explicit, and a jobId that arrives under two keys on partitions
 * of both engines runs once.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DeliveryTest {
    private static Path work;
    private static Path images;
    private static TestBroker broker;
    private static Engine a;
    private static Engine b;
    private static KafkaProducer<String, byte[]> producer;
    private static TopicLog log;
    private static EngineConfig.Topics topics;

    @BeforeAll
    static void start() throws Exception {
        work = Files.createTempDirectory("guestflow-delivery-test");
        images = Files.createDirectories(work.resolve("images"));
        broker = TestBroker.start();
        a = engine("deliv-a");
        b = engine("deliv-b");
        topics = a.config().topics();
        Map<String, Object> client = new HashMap<>(Engine.clientProps(a.config()));
        producer = new KafkaProducer<>(client, new StringSerializer(), new ByteArraySerializer());
        log = new TopicLog(client, topics.results(), topics.log(), topics.dlq());
        // both engines own partitions before anything is sent
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (a.ownedPartitions().isEmpty() || b.ownedPartitions().isEmpty()
                || a.ownedPartitions().size() + b.ownedPartitions().size() != a.config().jobPartitions()) {
            assertThat(System.nanoTime()).as("partitions shared by both engines").isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static Engine engine(String id) throws Exception {
        Map<String, String> props = new HashMap<>();
        props.put("guestflow.engine.image-root", images.toString());
        props.put("guestflow.engine.output-root", Files.createDirectories(work.resolve("out")).toString());
        props.put("guestflow.engine.data-dir", work.resolve("kafka").toString());
        props.put("guestflow.engine.instance-id", id);
        props.put("guestflow.engine.management-port", "0"); // two engines, and another test JVM beside this one
        props.put("guestflow.engine.claim-lease-ms", "10000");
        props.put("guestflow.engine.max-job-timeout-seconds", "3600");
        // -Dguestflow.test.group-protocol=consumer runs the class on the KIP-848 protocol
        props.put("guestflow.engine.group-protocol", System.getProperty("guestflow.test.group-protocol", "classic"));
        EngineConfig cfg = GuestflowConfig.engine(props, Map.of()).withPool(PoolConfig.defaults().withMaxAppliances(1))
                .withBootstrapServers(broker.bootstrapServers());
        return Engine.start(cfg);
    }

    @AfterAll
    static void stop() throws Exception {
        try (TestBroker br = broker; Engine ea = a; Engine eb = b; KafkaProducer<String, byte[]> p = producer;
             TopicLog l = log) {
            // closed in reverse order
        }
        assertThat(Leftovers.qemuChildren()).as("no appliance, no qemu").isEmpty();
        io.guestflow.pool.FileTrees.delete(work);
    }

    private static Future<?> send(String key, String value) {
        return producer.send(new ProducerRecord<>(topics.jobs(), key, value == null ? null : value.getBytes(StandardCharsets.UTF_8)));
    }

    private static Future<?> send(int partition, String key, String value) {
        return producer.send(new ProducerRecord<>(topics.jobs(), partition, key, value.getBytes(StandardCharsets.UTF_8)));
    }

    private static String info(String id, Path disk, String extra) {
        return "{\"jobId\":\"" + id + "\",\"type\":\"info\",\"disks\":[{\"uri\":\"" + disk.toUri() + "\"}]"
                + (extra == null ? "" : "," + extra) + "}";
    }

    private static String withDisk(String id, String uri) {
        return "{\"jobId\":\"" + id + "\",\"type\":\"info\",\"disks\":[{\"uri\":\"" + uri + "\"}]}";
    }

    private static JsonNode awaitResult(String id, Duration timeout) {
        log.await(timeout, "result of " + id, () -> !log.values(topics.results(), id).isEmpty());
        return log.values(topics.results(), id).get(0);
    }

    /**
     * 85 malformed messages — among them disk URIs with a host, a query, a
     * fragment, %00 or a NUL, output "/" — each end as exactly one dead letter
     * or exactly one REJECTED result (never read again and again), and then
     * every partition of the jobs topic still moves.
     */
    @Test
    @Order(1)
    void malformedMessagesEndAsDeadLettersOrRejectionsAndEveryPartitionStillMoves() throws Exception {
        Path good = InfoImages.qcow2(images, "good.qcow2");
        Path outside = InfoImages.qcow2(work, "outside.qcow2");
        Path link = Files.createSymbolicLink(images.resolve("link-out.qcow2"), outside);
        Path empty = Files.createFile(images.resolve("empty.img"));
        Path truncated = InfoImages.truncated(images, "truncated.qcow2");
        String g = good.toUri().toString();
        Map<String, byte[]> dead = new LinkedHashMap<>();
        for (String s : List.of("", "not json", "[1,2]", "\"str\"", "42", "null", "true", "{}", "{\"jobId\":42}",
                "{\"jobId\":\"\"}", "{\"jobId\":null}", "{\"jobId\":\"../x\"}", "{\"jobId\":\"scan-summary:x\"}",
                "{\"jobId\":\"a b\"}", "{\"jobId\":\"x\\u0000y\"}", "{\"jobId\":\"a\"} trailing", "{\"jobId\":\"a\",",
                "[".repeat(200) + "]".repeat(200), "{\"jobId\":[\"a\"]}", "{\"jobId\":{\"id\":\"a\"}}")) {
            dead.put("dl-" + dead.size(), s.getBytes(StandardCharsets.UTF_8));
        }
        dead.put("dl-binary", new byte[] {0, (byte) 0xff, 0x13, 0x37});
        dead.put("dl-badutf8", new byte[] {'{', '"', 'j', 'o', 'b', 'I', 'd', '"', ':', '"', (byte) 0xc3, '"', '}'});
        dead.put("dl-huge", ("{\"jobId\":\"huge\",\"pad\":\"" + "x".repeat(300_000) + "\"}").getBytes(StandardCharsets.UTF_8));
        Map<String, String> rejected = new LinkedHashMap<>();
        List<String> uris = List.of("file://host/x.qcow2", "file:///x.qcow2?q=1", "file:///x.qcow2#f", "file:///x%00.qcow2",
                images + "/x\\u0000.qcow2", "file://", "file:", "", " ", "nbd://", "nbd:///x", "http://h", "ftp://h/x.img",
                "file:///%zz", "file:///a b.qcow2", "ssh://user:pw@h/x", images + "/../../etc/passwd", outside.toString(),
                link.toString(), "/dev/null", "/dev/sda", images + "/missing.qcow2", empty.toString(), truncated.toString(),
                images.toString());
        for (String u : uris) {
            String id = "m-uri-" + rejected.size();
            rejected.put(id, withDisk(id, u.replace("\"", "\\\"")));
        }
        for (String out : List.of("/", "file:///", "file://host/o.qcow2", "o.qcow2", "/nonexistent/o.qcow2")) {
            String id = "m-out-" + rejected.size();
            rejected.put(id, "{\"jobId\":\"" + id + "\",\"type\":\"sparsify\",\"disks\":[{\"uri\":\"" + g + "\"}],"
                    + "\"output\":{\"uri\":\"" + out + "\"}}");
        }
        for (String field : List.of("\"disks\":\"x\"", "\"disks\":[1]", "\"disks\":[null]", "\"disks\":[{\"uri\":1}]",
                "\"disks\":[{\"uri\":\"" + g + "\",\"format\":1}]", "\"disks\":[{\"uri\":\"" + g + "\",\"format\":\"qcow9\"}]",
                "\"disks\":[{\"uri\":\"" + g + "\",\"format\":\"raw\"}]", "\"disks\":[{\"uri\":\"" + g + "\",\"x\":1}]")) {
            String id = "m-disk-" + rejected.size();
            rejected.put(id, "{\"jobId\":\"" + id + "\",\"type\":\"info\"," + field + "}");
        }
        for (String field : List.of("\"type\":5", "\"type\":\"defrag\"", "\"timeoutSeconds\":-1", "\"timeoutSeconds\":0",
                "\"timeoutSeconds\":1e12", "\"timeoutSeconds\":\"soon\"", "\"timeoutSeconds\":1.5", "\"timeoutSeconds\":7200",
                "\"options\":\"x\"", "\"options\":[]", "\"options\":{\"deep\":true}", "\"labels\":{\"a\":1}", "\"labels\":[]",
                "\"debug\":\"yes\"", "\"rerun\":\"yes\"", "\"steps\":[]", "\"output\":{\"uri\":\"" + g + "\"}", "\"prio\":9")) {
            String id = "m-field-" + rejected.size();
            // the field given replaces the default one of that name
            String type = field.startsWith("\"type\"") ? "" : "\"type\":\"info\",";
            rejected.put(id, "{\"jobId\":\"" + id + "\"," + type + "\"disks\":[{\"uri\":\"" + g + "\"}]," + field + "}");
        }
        rejected.put("m-notype", "{\"jobId\":\"m-notype\",\"disks\":[{\"uri\":\"" + g + "\"}]}");
        rejected.put("m-nodisks", "{\"jobId\":\"m-nodisks\",\"type\":\"info\"}");
        rejected.put("m-17disks", "{\"jobId\":\"m-17disks\",\"type\":\"info\",\"disks\":["
                + String.join(",", java.util.Collections.nCopies(17, "{\"uri\":\"" + g + "\"}")) + "]}");
        rejected.put("m-scripts", "{\"jobId\":\"m-scripts\",\"type\":\"sysprep\",\"disks\":[{\"uri\":\"" + g + "\"}],"
                + "\"options\":{\"scripts\":[\"rm -rf /\"]}}");
        rejected.put("m-pipeline-info", "{\"jobId\":\"m-pipeline-info\",\"type\":\"pipeline\",\"disks\":[{\"uri\":\"" + g
                + "\"}],\"options\":{\"steps\":[{\"type\":\"info\"}]}}");
        assertThat(dead.size() + rejected.size()).isGreaterThanOrEqualTo(50);

        List<Future<?>> sent = new ArrayList<>();
        dead.forEach((k, v) -> sent.add(producer.send(new ProducerRecord<>(topics.jobs(), k, v))));
        sent.add(send("dl-tombstone", null));
        rejected.forEach((k, v) -> sent.add(send(k, v)));
        for (Future<?> f : sent) {
            f.get();
        }
        // then one good job on every partition, by number: each must get its result
        int partitions = a.config().jobPartitions();
        List<String> probes = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            String id = "probe-p" + p;
            probes.add(id);
            send(p, id, info(id, good, null)).get();
        }
        for (String id : probes) {
            JsonNode r = awaitResult(id, Duration.ofMinutes(2));
            assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("SUCCEEDED");
            assertThat(r.path("output").path("disks").get(0).path("format").asText()).isEqualTo("qcow2");
        }
        log.await(Duration.ofMinutes(1), "every rejection and dead letter", () ->
                rejected.keySet().stream().allMatch(k -> !log.values(topics.results(), k).isEmpty())
                        && log.records(topics.dlq()).size() >= dead.size() + 1);
        log.drain(Duration.ofSeconds(3)); // a replayed poll would show up as a second copy now
        for (String k : rejected.keySet()) {
            List<JsonNode> rs = log.values(topics.results(), k);
            assertThat(rs).as(k).hasSize(1);
            assertThat(rs.get(0).path("status").asText()).as(k + ": " + rs.get(0)).isEqualTo("REJECTED");
            assertThat(rs.get(0).path("error").path("message").asText()).as(k).isNotBlank();
            // rejected before it ran ("rejected" event), or by its run (qemu-img: "started"): once either way
            assertThat(log.events(topics.log(), k, "rejected").size() + log.events(topics.log(), k, "started").size())
                    .as("%s handled once", k).isEqualTo(1);
        }
        Map<String, Integer> dlqCopies = new HashMap<>();
        Map<String, String> reasons = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : log.records(topics.dlq())) {
            dlqCopies.merge(r.key(), 1, Integer::sum);
            reasons.put(r.key(), new String(r.headers().lastHeader("guestflow.reason").value(), StandardCharsets.UTF_8));
        }
        Set<String> expectedDead = new java.util.HashSet<>(dead.keySet());
        expectedDead.add("dl-tombstone");
        assertThat(dlqCopies.keySet()).containsExactlyInAnyOrderElementsOf(expectedDead);
        assertThat(dlqCopies.values()).as("one dead letter each").containsOnly(1);
        assertThat(reasons.values()).allSatisfy(r -> assertThat(r).isNotBlank());
        String hostReason = log.values(topics.results(), "m-uri-0").get(0).path("error").path("message").asText();
        assertThat(hostReason).contains("names a host");
        assertThat(log.values(topics.results(), "m-uri-3").get(0).path("error").path("message").asText()).contains("NUL");
        String slash = rejected.entrySet().stream().filter(e -> e.getValue().contains("\"uri\":\"/\"}")).findFirst()
                .orElseThrow().getKey();
        assertThat(log.values(topics.results(), slash).get(0).path("error").path("message").asText()).contains("names no file");
    }

    /**
     * REJECTED (the image is missing), then the image appears: the same job
     * is skipped, runs again only with "rerun", and a SUCCEEDED job never runs
     * again nor gets its result replaced by a worse one.
     */
    @Test
    @Order(2)
    void aRejectedJobRunsAgainOnlyOnRequestAndASucceededOneNever() throws Exception {
        Path later = images.resolve("later.qcow2");
        String job = info("rerun-1", later, null);
        send("rerun-1", job).get();
        JsonNode first = awaitResult("rerun-1", Duration.ofMinutes(1));
        assertThat(first.path("status").asText()).isEqualTo("REJECTED");
        assertThat(first.path("error").path("code").asText()).isEqualTo("DISK_NOT_FOUND");

        InfoImages.qcow2(images, "later.qcow2");
        send("rerun-1", job).get();
        log.await(Duration.ofMinutes(1), "skipped", () -> log.events(topics.log(), "rerun-1", "skipped").size() == 1);
        assertThat(log.events(topics.log(), "rerun-1", "skipped").get(0).path("data").path("reason").asText())
                .contains("REJECTED").contains("rerun");

        send("rerun-1", info("rerun-1", later, "\"rerun\":true")).get();
        log.await(Duration.ofMinutes(1), "the rerun's result", () -> log.values(topics.results(), "rerun-1").size() == 2);
        assertThat(log.values(topics.results(), "rerun-1").get(1).path("status").asText()).isEqualTo("SUCCEEDED");

        // SUCCEEDED: a rerun request is refused, an invalid message with the id gets no result
        send("rerun-1", info("rerun-1", later, "\"rerun\":true")).get();
        send("rerun-1", "{\"jobId\":\"rerun-1\",\"type\":\"defrag\"}").get();
        log.await(Duration.ofMinutes(1), "refusals", () -> log.events(topics.log(), "rerun-1", "skipped").size() == 2
                && log.events(topics.log(), "rerun-1", "rejected").size() == 1);
        log.drain(Duration.ofSeconds(2));
        assertThat(log.events(topics.log(), "rerun-1", "skipped").get(1).path("data").path("reason").asText())
                .contains("SUCCEEDED");
        assertThat(log.values(topics.results(), "rerun-1")).hasSize(2);
        assertThat(log.events(topics.log(), "rerun-1", "started")).as("ran once, then once on request").hasSize(2);
        assertThat(a.resultIndex().outcome("rerun-1").name()).isEqualTo("SUCCEEDED");
        assertThat(b.resultIndex().outcome("rerun-1").name()).isEqualTo("SUCCEEDED");
    }

    /**
     * One job sent twice at once, under two keys, to a partition of each
     * engine. The job reads and checks 16 images (about a second of qemu-img
     * here), so both engines hold its record at about the same time: one
     * claims and runs it, the other finds the claim or the result and skips
     * it. Either way it runs once and has one result.
     */
    @Test
    @Order(3)
    void aJobUnderTwoKeysOnPartitionsOfTwoEnginesRunsOnce() throws Exception {
        StringBuilder disks = new StringBuilder();
        for (int i = 0; i < JobParser.MAX_DISKS; i++) {
            Path d = InfoImages.qcow2(images, "twice-" + i + ".qcow2");
            disks.append(i == 0 ? "" : ",").append("{\"uri\":\"").append(d.toUri()).append("\"}");
        }
        int pa = a.ownedPartitions().stream().mapToInt(TopicPartition::partition).min().orElseThrow();
        int pb = b.ownedPartitions().stream().mapToInt(TopicPartition::partition).min().orElseThrow();
        String job = "{\"jobId\":\"twice\",\"type\":\"info\",\"disks\":[" + disks + "]}";
        Future<?> f1 = send(pa, "key-one", job);
        Future<?> f2 = send(pb, "key-two", job);
        f1.get();
        f2.get();
        JsonNode r = awaitResult("twice", Duration.ofMinutes(1));
        log.await(Duration.ofMinutes(1), "the duplicate skipped", () -> log.events(topics.log(), "twice", "skipped").size() == 1);
        log.drain(Duration.ofSeconds(3));
        assertThat(log.values(topics.results(), "twice")).as("one result").hasSize(1);
        assertThat(log.events(topics.log(), "twice", "started")).as("one execution").hasSize(1);
        assertThat(log.events(topics.log(), "twice", "accepted")).as("accepted once").hasSize(1);
        assertThat(r.path("status").asText()).isEqualTo("SUCCEEDED");
        assertThat(r.path("output").path("disks")).hasSize(JobParser.MAX_DISKS);
        Set<String> sources = new java.util.HashSet<>();
        log.values(topics.log(), "twice").forEach(e -> sources.add(e.path("source").asText()));
        assertThat(sources).as("both engines saw it").containsExactlyInAnyOrder("guestflow/deliv-a", "guestflow/deliv-b");
    }
}
