package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.engine.EmbeddedKafkaBroker;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/guestflow run} as an operator runs it: its jar in a process of
 * its own, configured by environment variables alone (a scan included), JSON
 * logs, against a Kafka broker this test stops and starts again on the same
 * port. No appliance is launched: the job is rejected by the path policy.
 *
 * <ul>
 * <li>/health/live answers while the engine starts; /health/ready says what it waits for, then is ready;</li>
 * <li>/metrics is Prometheus text, every series guestflow_* and in the README's table, and a job and a
 *     dead letter change the counters (EngineTest checks the histograms of a job that ran);</li>
 * <li>the broker goes away: not ready, the body names the broker, live still; it comes back: ready;</li>
 * <li>meanwhile the Kafka clients' reconnection warnings are rate-limited, every log line is JSON,
 *     and the job's lines carry its jobId.</li>
 * </ul>
 */
class ManagementEndpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path REPO = Path.of(System.getProperty("guestflow.repo", ".."));
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Path work;
    private Process engine;
    private EmbeddedKafkaBroker broker;

    @AfterEach
    void cleanUp() throws Exception {
        if (engine != null && engine.isAlive()) {
            engine.destroy();
            if (!engine.waitFor(60, TimeUnit.SECONDS)) {
                engine.destroyForcibly();
            }
        }
        if (broker != null) {
            broker.close();
        }
        io.guestflow.pool.FileTrees.delete(work);
    }

    @Test
    void healthAndMetricsOfARunningEngineFollowTheBroker() throws Exception {
        work = Files.createTempDirectory("guestflow-management-test");
        int kafkaPort = FreePort.get();
        int controllerPort = FreePort.get();
        int port = FreePort.get();
        broker = EmbeddedKafkaBroker.startOnPorts(work.resolve("kafka"), kafkaPort, controllerPort);
        String bootstrap = "127.0.0.1:" + kafkaPort;
        Path images = Files.createDirectories(work.resolve("images"));

        ProcessBuilder pb = new ProcessBuilder("java", "-Djava.library.path=/usr/lib/x86_64-linux-gnu/jni", "-jar",
                REPO.resolve("routes/target/guestflow.jar").toString(), "run");
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("GUESTFLOW_"));
        env.put("GUESTFLOW_ENGINE_BOOTSTRAP_SERVERS", bootstrap);
        env.put("GUESTFLOW_ENGINE_MANAGEMENT_PORT", Integer.toString(port));
        env.put("GUESTFLOW_ENGINE_MANAGEMENT_HOST", "127.0.0.1");
        env.put("GUESTFLOW_ENGINE_IMAGE_ROOT", images.toString());
        env.put("GUESTFLOW_ENGINE_OUTPUT_ROOT", work.resolve("out").toString());
        env.put("GUESTFLOW_ENGINE_DATA_DIR", work.resolve("unused").toString());
        env.put("GUESTFLOW_ENGINE_REPORTS_DIR", work.resolve("reports").toString());
        env.put("GUESTFLOW_POOL_TMP_DIR", work.resolve("handles").toString());
        env.put("GUESTFLOW_POOL_MAX_APPLIANCES", "1");
        env.put("GUESTFLOW_LOG_FORMAT", "json");
        // a scan from the environment alone, scheduled far away: readiness waits for its Quartz route
        env.put("GUESTFLOW_SCAN_YEARLY_ROOTS", images.toString());
        env.put("GUESTFLOW_SCAN_YEARLY_CRON", "0 0 3 1 1 ? 2099");
        env.put("GUESTFLOW_SCAN_YEARLY_MISFIRE", "skip");
        Path log = work.resolve("engine.log");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        engine = pb.start();

        Response live = await(Duration.ofMinutes(2), () -> get(port, "/health/live"), r -> r != null, log);
        assertThat(live.status()).isEqualTo(200);
        Response ready = await(Duration.ofMinutes(2), () -> get(port, "/health/ready"), r -> r != null && r.status() == 200, log);
        JsonNode checks = JSON.readTree(ready.body()).path("checks");
        Set<String> names = new LinkedHashSet<>();
        checks.forEach(c -> {
            names.add(c.path("name").asText());
            assertThat(c.path("status").asText()).as(c.toString()).isEqualTo("UP");
        });
        assertThat(names).contains("engine", "broker", "topics", "dedup-index", "pool", "scans");
        assertThat(checks.findValuesAsText("message")).contains("scheduled: [yearly]");

        Response metrics = get(port, "/metrics");
        assertThat(metrics.status()).isEqualTo(200);
        assertThat(metrics.contentType()).startsWith("text/plain");
        for (String line : metrics.body().split("\n")) {
            if (!line.startsWith("#") && !line.isBlank()) {
                assertThat(line).as("every series is guestflow's").startsWith("guestflow_");
            }
        }
        assertThat(metrics.body()).contains("guestflow_pool_capacity 1.0", "guestflow_ready 1.0",
                "guestflow_dedup_index_jobs 0.0", "guestflow_dead_letters_total 0.0");

        // a job rejected before any launch (its disk is outside the image root), and a message that is not a job
        String jobId = "management-rejected";
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap),
                new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>("guestflow.jobs", jobId, ("{\"jobId\":\"" + jobId
                    + "\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"file:///etc/hostname\"}]}")
                    .getBytes(StandardCharsets.UTF_8))).get();
            producer.send(new ProducerRecord<>("guestflow.jobs", "junk", "not json".getBytes(StandardCharsets.UTF_8))).get();
        }
        Response after = await(Duration.ofSeconds(60), () -> get(port, "/metrics"),
                r -> r.body().contains("guestflow_dead_letters_total 1.0")
                        // a job rejected by the path policy: its result, so its metric, has no type
                        && r.body().contains("guestflow_jobs_total{status=\"rejected\",type=\"unknown\"} 1.0"), log);
        assertThat(after.body()).contains("guestflow_dedup_index_jobs 1.0")
                .containsPattern("guestflow_events_published_total\\{kind=\"lifecycle\"} [1-9]");
        Set<String> served = new LinkedHashSet<>();
        Matcher family = Pattern.compile("(?m)^# TYPE (\\S+) ").matcher(after.body());
        while (family.find()) {
            served.add(base(family.group(1)));
        }
        assertThat(served).contains("guestflow_jobs", "guestflow_dead_letters", "guestflow_pool_busy");
        assertThat(documentedMetrics().stream().map(ManagementEndpointTest::base).toList())
                .as("every metric served is in the README's Metrics table").containsAll(served);

        // the broker goes away: not ready, and the body names the broker; still alive
        long downAt = Files.readAllLines(log).size();
        broker.close();
        broker = null;
        Response notReady = await(Duration.ofSeconds(60), () -> get(port, "/health/ready"), r -> r.status() == 503, log);
        JsonNode body = JSON.readTree(notReady.body());
        assertThat(body.path("status").asText()).isEqualTo("DOWN");
        assertThat(body.path("failing").asText()).contains("broker: Kafka cluster at " + bootstrap + " does not answer");
        assertThat(get(port, "/health/live").status()).isEqualTo(200);
        assertThat(get(port, "/metrics").body()).contains("guestflow_ready 0.0");
        // a while without a broker: every Kafka client retries about once a second
        Thread.sleep(3_000);
        broker = EmbeddedKafkaBroker.startOnPorts(work.resolve("kafka"), kafkaPort, controllerPort);
        List<String> downLines = Files.readAllLines(log).subList((int) downAt, Files.readAllLines(log).size());
        long kafkaWarnings = downLines.stream().filter(l -> l.contains("\"logger\":\"org.apache.kafka.")
                && l.contains("\"level\":\"WARN\"")).count();
        assertThat(kafkaWarnings).as("Kafka client warnings while the broker was away (BurstFilter: 5, then one per 20 s)")
                .isBetween(1L, 8L);

        // it comes back: ready again
        await(Duration.ofSeconds(90), () -> get(port, "/health/ready"), r -> r.status() == 200, log);

        engine.destroy();
        assertThat(engine.waitFor(60, TimeUnit.SECONDS)).as("engine stops on SIGTERM").isTrue();
        List<String> lines = Files.readAllLines(log);
        List<JsonNode> parsed = new ArrayList<>();
        for (String line : lines) {
            parsed.add(JSON.readTree(line)); // throws on a line that is not one JSON object
        }
        assertThat(parsed).allMatch(n -> n.isObject() && n.has("time") && n.has("level") && n.has("message"));
        assertThat(parsed).as("the job's lines carry its jobId")
                .anyMatch(n -> n.path("jobId").asText().equals(jobId) && n.path("message").asText().contains("REJECTED"));
        assertThat(parsed).anyMatch(n -> n.path("message").asText().contains("guestflow engine running"));
    }

    /** A metric family's name without the suffixes Prometheus adds to counters and histograms. */
    private static String base(String name) {
        return name.replaceAll("_(total|max)$", "");
    }

    /** The metric names of the README's "Metrics" table. */
    static List<String> documentedMetrics() throws IOException {
        String readme = Files.readString(REPO.resolve("README.md"));
        int at = readme.indexOf("\n### Metrics\n");
        assertThat(at).as("README has a Metrics section").isPositive();
        String section = readme.substring(at + 1, readme.indexOf("\n#", at + 1));
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^\\| `(guestflow_[a-z_]+)`").matcher(section);
        while (m.find()) {
            out.add(m.group(1));
        }
        assertThat(out).isNotEmpty();
        return out;
    }

    record Response(int status, String contentType, String body) {
    }

    private Response get(int port, String path) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.headers().firstValue("content-type").orElse(""), r.body());
        } catch (IOException e) {
            return null; // not listening yet
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private interface Call<T> {
        T call() throws Exception;
    }

    private <T> T await(Duration timeout, Call<T> call, Predicate<T> done, Path log) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        T last = null;
        while (System.nanoTime() < deadline) {
            assertThat(engine.isAlive()).as("engine exited: %s", Files.readString(log)).isTrue();
            last = call.call();
            if (last != null && done.test(last)) {
                return last;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("not within " + timeout + "; last answer: " + last);
    }
}
