package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.engine.EmbeddedKafkaBroker;
import io.guestflow.engine.Engine;
import io.guestflow.samples.SampleGuests.Image;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/**
 * The engine process is killed (SIGKILL) while a job's appliance runs,
 * then started again on the same data: the uncommitted job is redelivered
 * and completes exactly once, and the restarted engine sweeps what the
 * killed one left in /tmp.
 */
@Tag("appliance")
class EngineRestartTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private Path work;
    private Process engine;

    @AfterEach
    void cleanUp() throws Exception {
        if (engine != null && engine.isAlive()) {
            engine.destroy();
            engine.waitFor(60, TimeUnit.SECONDS);
            engine.destroyForcibly();
        }
        io.guestflow.pool.FileTrees.delete(work);
    }

    private Process startEngine() throws Exception {
        Path repo = Path.of(System.getProperty("guestflow.repo", ".."));
        ProcessBuilder pb = new ProcessBuilder("java", "-Djava.library.path=/usr/lib/x86_64-linux-gnu/jni", "-jar",
                repo.resolve("routes/target/guestflow.jar").toString(), "run");
        Map<String, String> env = pb.environment();
        env.put("GUESTFLOW_ENGINE_DATA_DIR", work.resolve("kafka").toString());
        env.put("GUESTFLOW_ENGINE_IMAGE_ROOT", Fixtures.images().toString());
        env.put("GUESTFLOW_ENGINE_OUTPUT_ROOT", work.resolve("out").toString());
        env.put("GUESTFLOW_ENGINE_TMP_ROOT", work.resolve("tmp").toString());
        env.put("GUESTFLOW_POOL_TMP_DIR", work.resolve("handles").toString());
        env.put("GUESTFLOW_POOL_MAX_APPLIANCES", "1");
        env.put("GUESTFLOW_ENGINE_MANAGEMENT_PORT", "0");
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(work.resolve("engine.log").toFile()));
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (EmbeddedKafkaBroker.runningAddress(work.resolve("kafka")) == null || !engineRunning()) {
            assertThat(p.isAlive()).as("engine exited: %s", Files.readString(work.resolve("engine.log"))).isTrue();
            assertThat(System.nanoTime()).as("engine did not start").isLessThan(deadline);
            Thread.sleep(200);
        }
        return p;
    }

    private boolean engineRunning() throws Exception {
        int starts = 0;
        for (String line : Files.readAllLines(work.resolve("engine.log"))) {
            if (line.contains("guestflow engine running")) {
                starts++;
            }
        }
        return starts >= runs;
    }

    private int runs;

    private static KafkaConsumer<String, byte[]> reader(String bootstrap, String... topics) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("enable.auto.commit", "false");
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = new ArrayList<>();
        for (String t : topics) {
            parts.addAll(Engine.partitions(c, t));
        }
        c.assign(parts);
        c.seekToBeginning(parts);
        return c;
    }

    @Test
    void jobInterruptedByAKilledEngineCompletesExactlyOnceAfterRestart() throws Exception {
        work = Files.createTempDirectory("guestflow-restart-test");
        List<Path> tmpBefore = Leftovers.libguestfsTmpDirs();
        runs = 1;
        engine = startEngine();
        String bootstrap = EmbeddedKafkaBroker.runningAddress(work.resolve("kafka"));
        String id = "restart-1";
        String job = "{\"jobId\":\"" + id + "\",\"type\":\"inspect\",\"options\":{\"applications\":false},\"disks\":[{\"uri\":\""
                + Fixtures.image(Image.BLANK_EXT4).toUri() + "\"}]}";
        Map<String, Object> props = Map.of("bootstrap.servers", bootstrap);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
             KafkaConsumer<String, byte[]> log = reader(bootstrap, "guestflow.log")) {
            producer.send(new ProducerRecord<>("guestflow.jobs", id, job.getBytes(StandardCharsets.UTF_8))).get();
            awaitEvent(log, id, "io.guestflow.job.accepted", Duration.ofMinutes(2));
        }
        long qemuDeadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (qemuOfThisTest().isEmpty()) {
            assertThat(System.nanoTime()).as("the job's appliance never started").isLessThan(qemuDeadline);
            Thread.sleep(100);
        }
        // the job's appliance is up or booting: kill the engine as a crash would; the socket directory
        // libguestfs made for the appliance (its qemu names it) stays behind
        List<Path> sockDirs = Leftovers.expectDebrisOfKilling(engine.toHandle());
        engine.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        long killedAt = System.nanoTime();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!qemuOfThisTest().isEmpty()) {
            assertThat(System.nanoTime()).as("qemu of the killed engine still running").isLessThan(deadline);
            Thread.sleep(200);
        }

        // a killed process cannot remove libguestfs's socket directory; the next engine's pool sweeps it
        List<Path> debris = sockDirs.stream().filter(Files::isDirectory).toList();
        // as a supervisor would restart it: not in the same instant (the sweeper spares directories younger than 10 s)
        Thread.sleep(Math.max(0, 11_000 - (System.nanoTime() - killedAt) / 1_000_000));
        runs = 2;
        engine = startEngine();
        bootstrap = EmbeddedKafkaBroker.runningAddress(work.resolve("kafka"));
        List<JsonNode> results = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> c = reader(bootstrap, "guestflow.results")) {
            long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
            while (results.isEmpty() && System.nanoTime() < until) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                    if (id.equals(r.key())) {
                        results.add(JSON.readTree(r.value()));
                    }
                }
            }
            // anything published twice would arrive now
            long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < settle) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                    if (id.equals(r.key())) {
                        results.add(JSON.readTree(r.value()));
                    }
                }
            }
        }
        assertThat(results).as("results of the interrupted job").hasSize(1);
        assertThat(results.get(0).path("status").asText()).as(results.get(0).toString()).isEqualTo("SUCCEEDED");

        engine.destroy();
        assertThat(engine.waitFor(90, TimeUnit.SECONDS)).as("engine stops on SIGTERM").isTrue();
        assertThat(qemuOfThisTest()).isEmpty();
        assertThat(debris).as("the killed engine left its socket directory").isNotEmpty();
        assertThat(debris).as("swept by the restarted engine").noneMatch(Files::exists);
        Leftovers.assertNoLibguestfsDirsLeft(tmpBefore);
    }

    /**
     * The appliance of this test's engine: qemu-system naming the pool's handle directory. Not qemu-img,
     * which also names it (the overlay of a read-only drive) but runs before libguestfs makes its socket
     * directory, so a kill at that moment would leave nothing for the restarted engine to sweep.
     */
    private List<ProcessHandle> qemuOfThisTest() {
        String handles = work.resolve("handles").toString();
        return ProcessHandle.allProcesses().filter(p -> {
            String cmd = io.guestflow.pool.HostInfo.commandLine(p).orElse("");
            return cmd.contains(handles) && cmd.contains("qemu-system");
        }).toList();
    }

    private static void awaitEvent(KafkaConsumer<String, byte[]> log, String id, String type, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, byte[]> r : log.poll(Duration.ofMillis(300))) {
                if (id.equals(r.key()) && JSON.readTree(r.value()).path("type").asText().equals(type)) {
                    return;
                }
            }
        }
        throw new AssertionError("no " + type + " event for " + id);
    }
}
