package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.config.GuestflowConfig;
import io.guestflow.engine.Engine;
import io.guestflow.engine.EngineConfig;
import io.guestflow.kafka.Partitions;
import io.guestflow.pool.PoolConfig;
import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.samples.SampleGuests.Image;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
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
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Tag;

/**
 * The engine end to end on a real broker ({@link TestBroker}) and real
 * appliances: jobs produced with a plain KafkaProducer, results, events and
 * dead letters read with a plain KafkaConsumer.
 */
@Tag("appliance")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EngineTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path work;
    private static Path images;
    private static Engine engine;
    private static TestBroker broker;
    private static KafkaProducer<String, byte[]> producer;
    private static KafkaConsumer<String, byte[]> reader;
    /** Everything read so far, per topic, in order. */
    private static final Map<String, List<ConsumerRecord<String, byte[]>>> seen = new HashMap<>();
    private static List<Path> tmpBefore;

    @BeforeAll
    static void start() throws Exception {
        tmpBefore = Leftovers.libguestfsTmpDirs();
        work = Files.createTempDirectory("guestflow-engine-test");
        // the image root is the cached fixture folder; the output root a fresh folder
        Path fixtures = Fixtures.images();
        Map<String, String> props = new HashMap<>();
        props.put("guestflow.engine.image-root", fixtures.toString());
        props.put("guestflow.engine.output-root", work.resolve("out").toString());
        props.put("guestflow.engine.data-dir", work.resolve("kafka").toString());
        props.put("guestflow.engine.tmp-root", work.resolve("tmp").toString());
        props.put("guestflow.engine.retry-backoff-ms", "200");
        props.put("guestflow.engine.management-port", "0");
        // the first job asks for the call trace: the operator's switch (HostileInputTest: refused without it)
        props.put("guestflow.engine.allow-debug-jobs", "true");
        // an external cluster, as in production; the embedded broker is exercised by EngineRestartTest and the demo
        broker = TestBroker.start();
        EngineConfig cfg = GuestflowConfig.engine(props, Map.of()).withPool(PoolConfig.defaults().withMaxAppliances(2))
                .withBootstrapServers(broker.bootstrapServers());
        engine = Engine.start(cfg);
        images = fixtures;
        Map<String, Object> client = new HashMap<>(Engine.clientProps(engine.config()));
        producer = new KafkaProducer<>(client, new StringSerializer(), new ByteArraySerializer());
        Properties rp = new Properties();
        rp.putAll(client);
        rp.put("enable.auto.commit", "false");
        reader = new KafkaConsumer<>(rp, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = new ArrayList<>();
        for (String t : List.of(cfg.topics().results(), cfg.topics().log(), cfg.topics().dlq())) {
            parts.addAll(Partitions.of(reader, t));
        }
        reader.assign(parts);
        reader.seekToBeginning(parts);
    }

    @AfterAll
    static void stop() throws Exception {
        Mixed.watching.set(false);
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
        Leftovers.assertNoLibguestfsDirsLeft(tmpBefore);
        io.guestflow.pool.FileTrees.delete(work);
    }

    private static String topic(String which) {
        EngineConfig.Topics t = engine.config().topics();
        return switch (which) {
            case "results" -> t.results();
            case "log" -> t.log();
            case "dlq" -> t.dlq();
            default -> t.jobs();
        };
    }

    private static void produce(String key, String json) throws Exception {
        producer.send(new ProducerRecord<>(topic("jobs"), key, json == null ? null : json.getBytes(StandardCharsets.UTF_8))).get();
    }

    private static void produce(String key, byte[] raw) throws Exception {
        producer.send(new ProducerRecord<>(topic("jobs"), key, raw)).get();
    }

    /** Polls until {@code done} holds for what was read, or fails after {@code timeout}. */
    private static void awaitRecords(Duration timeout, String what, Predicate<Map<String, List<ConsumerRecord<String, byte[]>>>> done) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.test(seen)) {
            assertThat(System.nanoTime()).as("timed out waiting for " + what).isLessThan(deadline);
            for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(300))) {
                seen.computeIfAbsent(r.topic(), k -> new ArrayList<>()).add(r);
            }
        }
    }

    /** Reads whatever arrives during {@code d}. */
    private static void drain(Duration d) {
        long until = System.nanoTime() + d.toNanos();
        while (System.nanoTime() < until) {
            for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(200))) {
                seen.computeIfAbsent(r.topic(), k -> new ArrayList<>()).add(r);
            }
        }
    }

    private static List<JsonNode> values(String which, String key) {
        List<JsonNode> out = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : seen.getOrDefault(topic(which), List.of())) {
            if (key.equals(r.key())) {
                try {
                    out.add(JSON.readTree(r.value()));
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }
        }
        return out;
    }

    private static JsonNode awaitResult(String jobId, Duration timeout) {
        awaitRecords(timeout, "result of " + jobId, s -> !values("results", jobId).isEmpty());
        return values("results", jobId).get(0);
    }

    private static String inspectJob(String jobId, Path disk, String extra) {
        return "{\"jobId\":\"" + jobId + "\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"" + disk.toUri() + "\"}]"
                + (extra == null ? "" : "," + extra) + "}";
    }

    @Test
    @Order(1)
    void inspectJobEndToEnd() throws Exception {
        String id = "e2e-debian";
        produce(id, inspectJob(id, images.resolve(Image.DEBIAN_LVM.fileName), "\"labels\":{\"team\":\"web\"},\"debug\":true"));
        JsonNode result = awaitResult(id, Duration.ofMinutes(10));
        assertThat(result.path("status").asText()).as(result.toString()).isEqualTo("SUCCEEDED");
        assertThat(result.path("labels").path("team").asText()).isEqualTo("web");
        // alone in its poll (inspect jobs batch up to guestflow.engine.inspect-batch-size, 8 here): it ran on its
        // own appliance as usual, so its result carries no batch metadata (InspectDifferentialTest checks a batch's)
        assertThat(result.has("batch")).as("batch metadata of a job that ran alone as usual").isFalse();
        assertThat(result.path("timings").path("launchMillis").asLong()).isPositive();
        JsonNode os = result.path("output").path("operatingSystems").get(0);
        assertThat(os.path("hostname").asText()).isEqualTo("web01");
        assertThat(os.path("distro").asText()).isEqualTo("debian");

        // lifecycle in order, and every event is about this job
        awaitRecords(Duration.ofSeconds(30), "succeeded event",
                s -> values("log", id).stream().anyMatch(e -> e.path("type").asText().equals("io.guestflow.job.succeeded")));
        List<JsonNode> events = values("log", id);
        List<String> lifecycle = events.stream().map(e -> e.path("type").asText())
                .filter(t -> t.startsWith("io.guestflow.job.")).toList();
        assertThat(lifecycle).containsSubsequence("io.guestflow.job.accepted", "io.guestflow.job.started",
                "io.guestflow.job.succeeded");
        assertThat(events).allMatch(e -> e.path("subject").asText().equals(id) && e.path("specversion").asText().equals("1.0"));
        assertThat(events).as("libguestfs events of the job's handle")
                .anyMatch(e -> e.path("type").asText().equals("io.guestflow.libguestfs.trace"));

        // what /metrics serves (ManagementEndpointTest reads it over HTTP without launching): a job that ran
        // is counted, its duration and its launch's are in the histograms of its type
        String metrics = engine.metrics().scrape();
        assertThat(metrics).contains("guestflow_jobs_total{status=\"succeeded\",type=\"inspect\"} 1.0")
                .contains("guestflow_job_duration_seconds_count{type=\"inspect\"} 1")
                .contains("guestflow_launch_duration_seconds_count{type=\"inspect\"} 1")
                .contains("guestflow_launches_total 1.0");
        assertThat(metrics).containsPattern("guestflow_events_published_total\\{kind=\"libguestfs\"\\} [1-9]");
    }

    @Test
    @Order(2)
    void sameJobTwiceRunsOnce() throws Exception {
        String id = "e2e-debian";
        produce(id, inspectJob(id, images.resolve(Image.DEBIAN_LVM.fileName), null));
        awaitRecords(Duration.ofMinutes(2), "skipped event",
                s -> values("log", id).stream().anyMatch(e -> e.path("type").asText().equals("io.guestflow.job.skipped")));
        // a re-run would have been accepted (and started) again
        drain(Duration.ofSeconds(3));
        assertThat(values("log", id).stream().filter(e -> e.path("type").asText().equals("io.guestflow.job.accepted")))
                .hasSize(1);
        assertThat(values("results", id)).hasSize(1);
        assertThat(values("log", id).stream().filter(e -> e.path("type").asText().equals("io.guestflow.job.started")))
                .hasSize(1);

        // an invalid message reusing the id gets its rejection event but does not replace the result
        produce(id, "{\"jobId\":\"" + id + "\",\"type\":\"defrag\",\"disks\":[{\"uri\":\"/x.img\"}]}");
        awaitRecords(Duration.ofMinutes(1), "rejected event", s -> values("log", id).stream()
                .anyMatch(e -> e.path("type").asText().equals("io.guestflow.job.rejected")));
        drain(Duration.ofSeconds(3));
        assertThat(values("results", id)).hasSize(1);
        assertThat(values("results", id).get(0).path("status").asText()).isEqualTo("SUCCEEDED");
    }

    /**
     * The messages of tests 3-5, produced once, in one go, on first use: 20 bad messages (REJECTED or
     * dead-lettered) and a sysprep naming an unknown operation (REJECTED before any launch), then a valid inspect
     * job, a sysprep dry run and a sysprep of a disk without an OS. The three jobs that launch an appliance are the
     * three jobs on the pool of two, so the bound is checked on launches the other tests need anyway.
     */
    private static final class Mixed {
        static final List<String> LAUNCHING = List.of("after-bad", "seal-dry", "seal-no-os");
        static final Map<String, String> rejected = new java.util.LinkedHashMap<>();
        static final Map<String, byte[]> deadLetters = new java.util.LinkedHashMap<>();
        static final AtomicInteger maxQemu = new AtomicInteger();
        static final AtomicBoolean watching = new AtomicBoolean();
        static Thread watcher;
        static long launchesBefore;
        static String debianShaBefore;
        static java.nio.file.attribute.FileTime debianMtimeBefore;
        static boolean submitted;

        static synchronized void submit() throws Exception {
            if (submitted) {
                return;
            }
            submitted = true;
            Path outside = Files.write(work.resolve("outside.img"), new byte[1024]);
            Path link = Files.createSymbolicLink(work.resolve("link-out.img"), outside);
            String disk = images.resolve(Image.BLANK_EXT4.fileName).toUri().toString();
            rejected.put("bad-type", "{\"jobId\":\"bad-type\",\"type\":\"defrag\",\"disks\":[{\"uri\":\"" + disk + "\"}]}");
            rejected.put("bad-step", "{\"jobId\":\"bad-step\",\"type\":\"pipeline\",\"disks\":[{\"uri\":\"" + disk + "\"}],"
                    + "\"options\":{\"steps\":[{\"type\":\"inspect\"},{\"type\":\"sparsify\",\"options\":{\"inPlace\":\"yes\"}}]}}");
            rejected.put("bad-nodisks", "{\"jobId\":\"bad-nodisks\",\"type\":\"inspect\"}");
            rejected.put("bad-emptydisks", "{\"jobId\":\"bad-emptydisks\",\"type\":\"inspect\",\"disks\":[]}");
            rejected.put("bad-scheme", "{\"jobId\":\"bad-scheme\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"ftp://h/x.img\"}]}");
            rejected.put("bad-format", "{\"jobId\":\"bad-format\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"" + disk + "\",\"format\":\"qcow9\"}]}");
            rejected.put("bad-timeout", "{\"jobId\":\"bad-timeout\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"" + disk + "\"}],\"timeoutSeconds\":\"soon\"}");
            rejected.put("bad-option", "{\"jobId\":\"bad-option\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"" + disk + "\"}],\"options\":{\"applications\":\"maybe\"}}");
            rejected.put("bad-field", "{\"jobId\":\"bad-field\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"" + disk + "\"}],\"prio\":9}");
            rejected.put("bad-escape", "{\"jobId\":\"bad-escape\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"" + images + "/../../../etc/passwd\"}]}");
            rejected.put("bad-outside", "{\"jobId\":\"bad-outside\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"" + outside + "\"}]}");
            rejected.put("bad-link", "{\"jobId\":\"bad-link\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"" + link + "\"}]}");
            rejected.put("bad-dev", "{\"jobId\":\"bad-dev\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/dev/sda\"}]}");
            rejected.put("bad-missing", "{\"jobId\":\"bad-missing\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"" + images.resolve("nope.qcow2") + "\"}]}");
            deadLetters.put("dl-notjson", "this is not json".getBytes(StandardCharsets.UTF_8));
            deadLetters.put("dl-array", "[1,2]".getBytes(StandardCharsets.UTF_8));
            deadLetters.put("dl-noid", "{\"type\":\"inspect\",\"disks\":[]}".getBytes(StandardCharsets.UTF_8));
            deadLetters.put("dl-huge", ("{\"jobId\":\"huge\",\"pad\":\"" + "x".repeat(300_000) + "\"}").getBytes(StandardCharsets.UTF_8));
            deadLetters.put("dl-binary", new byte[] {0, (byte) 0xff, 0x13, 0x37});
            deadLetters.put("dl-empty", new byte[0]);

            Path debian = images.resolve(Image.DEBIAN_LVM.fileName);
            debianShaBefore = Fixtures.sha256(debian);
            debianMtimeBefore = Files.getLastModifiedTime(debian);
            launchesBefore = engine.pool().metrics().launches();
            watching.set(true);
            watcher = new Thread(() -> {
                while (watching.get()) {
                    maxQemu.accumulateAndGet(Leftovers.qemuChildren().size(), Math::max);
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            watcher.setDaemon(true);
            watcher.start();

            for (Map.Entry<String, String> e : rejected.entrySet()) {
                produce(e.getKey(), e.getValue());
            }
            for (Map.Entry<String, byte[]> e : deadLetters.entrySet()) {
                produce(e.getKey(), e.getValue());
            }
            // refused before any launch: ahead of the jobs that launch, so no running job holds its partition
            produce("seal-unknown-op", "{\"jobId\":\"seal-unknown-op\",\"type\":\"sysprep\",\"disks\":[{\"uri\":\""
                    + debian.toUri() + "\"}],\"options\":{\"operations\":[\"-bash-histroy\"]}}");
            produce("after-bad", inspectJob("after-bad", images.resolve(Image.BLANK_EXT4.fileName),
                    "\"options\":{\"applications\":false}"));
            produce("seal-dry", "{\"jobId\":\"seal-dry\",\"type\":\"sysprep\",\"disks\":[{\"uri\":\"" + debian.toUri()
                    + "\"}],\"options\":{\"dryRun\":true,\"hostname\":\"web02\"}}");
            produce("seal-no-os", "{\"jobId\":\"seal-no-os\",\"type\":\"sysprep\",\"disks\":[{\"uri\":\""
                    + images.resolve(Image.BLANK_EXT4.fileName).toUri() + "\"}],\"options\":{\"dryRun\":true,\"rootPassword\":\"s3cr3t-pw\"}}");
        }

        /** Waits for the results of the three jobs that launch; the watcher stops once they are all in. */
        static void awaitLaunching() throws Exception {
            submit();
            try {
                awaitRecords(Duration.ofMinutes(20), "results of " + LAUNCHING,
                        s -> LAUNCHING.stream().allMatch(id -> !values("results", id).isEmpty()));
            } finally {
                watching.set(false);
                watcher.join();
            }
        }
    }

    /** 20 kinds of bad messages; each is REJECTED or dead-lettered with a reason, and valid jobs still run. */
    @Test
    @Order(3)
    void invalidMessagesAreRejectedOrDeadLetteredAndConsumingGoesOn() throws Exception {
        Mixed.submit();
        Map<String, String> rejected = Mixed.rejected;
        Map<String, byte[]> deadLetters = Mixed.deadLetters;
        // produced after every bad message
        JsonNode ok = awaitResult("after-bad", Duration.ofMinutes(20));
        assertThat(ok.path("status").asText()).as(ok.toString()).isEqualTo("SUCCEEDED");
        // the disk without an OS, inspected alone: virt-inspector's answer (the batched one is checked elsewhere)
        InspectDifferentialTest.assertSameFacts(JSON.treeToValue(ok.path("output"), InspectionReport.class),
                VirtInspector.golden(VirtInspector.Guest.BLANK).report());
        awaitRecords(Duration.ofSeconds(60), "every rejection and dead letter", s ->
                rejected.keySet().stream().allMatch(k -> !values("results", k).isEmpty())
                        && seen.getOrDefault(topic("dlq"), List.of()).size() >= deadLetters.size());
        for (String k : rejected.keySet()) {
            JsonNode r = values("results", k).get(0);
            assertThat(r.path("status").asText()).as(k + ": " + r).isEqualTo("REJECTED");
            assertThat(r.path("error").path("message").asText()).as(k).isNotBlank();
            assertThat(r.path("error").path("retryable").asBoolean()).as(k).isFalse();
        }
        assertThat(values("results", "bad-missing").get(0).path("error").path("code").asText()).isEqualTo("DISK_NOT_FOUND");
        assertThat(values("results", "bad-link").get(0).path("error").path("message").asText()).contains("outside the allowed root");
        assertThat(values("results", "bad-step").get(0).path("error").path("message").asText())
                .contains("steps[1] (sparsify)").contains("inPlace");
        Map<String, String> reasons = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : seen.get(topic("dlq"))) {
            reasons.put(r.key(), new String(r.headers().lastHeader("guestflow.reason").value(), StandardCharsets.UTF_8));
        }
        assertThat(reasons).containsOnlyKeys(deadLetters.keySet());
        assertThat(reasons.get("dl-notjson")).contains("not JSON");
        assertThat(reasons.get("dl-huge")).contains("exceeds the limit");
        assertThat(reasons.get("dl-empty")).contains("empty message");
        assertThat(new String(seen.get(topic("dlq")).stream().filter(r -> r.key().equals("dl-array")).findFirst()
                .orElseThrow().value(), StandardCharsets.UTF_8)).as("original bytes kept").isEqualTo("[1,2]");
    }

    /**
     * Three jobs on a pool of two: never more than two appliances at once, three results. The three are the
     * jobs of tests 3 and 5 that launch an appliance (the inspect job after the bad messages, the sysprep dry run,
     * the sysprep of a disk without an OS), produced together. (Three is one more than the pool holds; each
     * further job would only cost another launch.)
     */
    @Test
    @Order(4)
    void threeJobsOnAPoolOfTwo() throws Exception {
        Mixed.awaitLaunching();
        for (String id : Mixed.LAUNCHING) {
            assertThat(values("results", id)).as(id).hasSize(1);
        }
        assertThat(values("results", "after-bad").get(0).path("status").asText()).isEqualTo("SUCCEEDED");
        assertThat(values("results", "seal-dry").get(0).path("status").asText()).isEqualTo("SUCCEEDED");
        // refused by what the appliance found, so it launched like the others
        assertThat(values("results", "seal-no-os").get(0).path("status").asText()).isEqualTo("REJECTED");
        assertThat(engine.pool().metrics().launches() - Mixed.launchesBefore).as("launches of the three jobs").isEqualTo(3);
        assertThat(Mixed.maxQemu.get()).as("appliances at once").isBetween(1, 2);
        assertThat(engine.pool().metrics().capacity()).isEqualTo(2);
    }

    /**
     * The sysprep job type through Kafka: a dry run reports what it would do
     * and changes no byte of the image; an unknown operation is REJECTED with
     * the valid names; a disk without an operating system is REJECTED.
     */
    @Test
    @Order(5)
    void sysprepJobsThroughKafka() throws Exception {
        Mixed.submit();
        Path debian = images.resolve(Image.DEBIAN_LVM.fileName);

        JsonNode unknown = awaitResult("seal-unknown-op", Duration.ofMinutes(2));
        assertThat(unknown.path("status").asText()).isEqualTo("REJECTED");
        assertThat(unknown.path("error").path("message").asText())
                .contains("unknown sysprep operation 'bash-histroy'").contains("bash-history");

        JsonNode dry = awaitResult("seal-dry", Duration.ofMinutes(20));
        assertThat(dry.path("status").asText()).as(dry.toString()).isEqualTo("SUCCEEDED");
        JsonNode guest = dry.path("output").path("guests").get(0);
        assertThat(dry.path("output").path("dryRun").asBoolean()).isTrue();
        assertThat(guest.path("hostname").asText()).isEqualTo("web01");
        List<String> ran = new ArrayList<>();
        guest.path("operations").forEach(o -> {
            if (o.path("ran").asBoolean()) {
                ran.add(o.path("name").asText());
            }
        });
        assertThat(ran).contains("machine-id", "customize", "lvm-uuids").doesNotContain("rhn-systemid");
        assertThat(Fixtures.sha256(debian)).as("a dry run changes no byte").isEqualTo(Mixed.debianShaBefore);
        assertThat(Files.getLastModifiedTime(debian)).isEqualTo(Mixed.debianMtimeBefore);

        JsonNode noOs = awaitResult("seal-no-os", Duration.ofMinutes(20));
        assertThat(noOs.path("status").asText()).as(noOs.toString()).isEqualTo("REJECTED");
        assertThat(noOs.path("error").path("message").asText()).contains("no operating system");

        // the root password is a secret: nowhere in the result or the job's events
        drain(Duration.ofSeconds(2));
        assertThat(noOs.toString()).doesNotContain("s3cr3t-pw");
        assertThat(values("log", "seal-no-os")).isNotEmpty()
                .allSatisfy(e -> assertThat(e.toString()).doesNotContain("s3cr3t-pw"));
    }
}
