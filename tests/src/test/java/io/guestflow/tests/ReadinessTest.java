package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import io.guestflow.engine.EmbeddedKafkaBroker;
import io.guestflow.engine.Engine;
import io.guestflow.engine.EngineConfig;
import io.guestflow.management.HealthChecks;
import io.guestflow.pool.PoolConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Nothing is consumed before the engine is ready, nor while its results
 * index is away: an engine started before its broker waits (and says why),
 * reads the results already published once the broker is there, and does not
 * run a job whose SUCCEEDED result it finds; when the broker goes away under
 * it, it stops taking jobs until the index has caught up again. Info jobs
 * only: no appliance.
 */
class ReadinessTest {
    private Path work;
    private EmbeddedKafkaBroker broker;
    private Engine engine;

    @AfterEach
    void cleanUp() throws Exception {
        if (engine != null) {
            engine.close();
        }
        if (broker != null) {
            broker.close();
        }
        if (work != null) {
            io.guestflow.pool.FileTrees.delete(work);
        }
    }

    private EngineConfig config(String bootstrap, String instance, int startupTimeoutSeconds) throws Exception {
        Map<String, String> props = new HashMap<>();
        props.put("guestflow.engine.image-root", Files.createDirectories(work.resolve("images")).toString());
        props.put("guestflow.engine.output-root", Files.createDirectories(work.resolve("out")).toString());
        props.put("guestflow.engine.instance-id", instance);
        props.put("guestflow.engine.management-port", "0"); // another test JVM may run an engine beside this one
        props.put("guestflow.engine.startup-timeout-seconds", String.valueOf(startupTimeoutSeconds));
        return EngineConfig.from(props, Map.of()).withPool(PoolConfig.defaults().withMaxAppliances(1))
                .withBootstrapServers(bootstrap);
    }

    private static HealthChecks.Status readiness(HealthChecks checks, String name) {
        return checks.statuses(HealthChecks.Kind.READINESS).get(name);
    }

    private static void await(Duration timeout, String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("timed out waiting for " + what).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    @Test
    void withoutABrokerStartUpSaysWhyAndGivesUpAfterItsTimeout() throws Exception {
        work = Files.createTempDirectory("guestflow-readiness-test");
        HealthChecks status = new HealthChecks();
        long t0 = System.nanoTime();
        Engine.NotReadyException e = catchThrowableOfType(Engine.NotReadyException.class,
                () -> Engine.start(config("127.0.0.1:" + FreePort.get(), "nobroker", 3), java.util.List.of(), null, status));
        long s = (System.nanoTime() - t0) / 1_000_000_000;
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("broker").contains("startup-timeout-seconds");
        assertThat(s).as("gave up after its timeout, not before nor much later").isBetween(3L, 30L);
        assertThat(status.ready()).isFalse();
        assertThat(readiness(status, Engine.BROKER).up()).isFalse();
        assertThat(readiness(status, Engine.ENGINE).message()).startsWith("start-up gave up");
    }

    @Test
    void anEngineStartedBeforeItsBrokerWaitsReadsWhatIsDoneAndStopsWhileTheIndexIsAway() throws Exception {
        work = Files.createTempDirectory("guestflow-readiness-test");
        Path data = work.resolve("kafka");
        int port = FreePort.get();
        String bootstrap = "127.0.0.1:" + port;
        Path disk = InfoImages.qcow2(Files.createDirectories(work.resolve("images")), "a.qcow2");
        String job = "{\"jobId\":\"done-1\",\"type\":\"info\",\"disks\":[{\"uri\":\"" + disk.toUri() + "\"}]}";

        // a first engine publishes done-1's SUCCEEDED result; then everything stops
        broker = EmbeddedKafkaBroker.startOnPorts(data, port, 0);
        engine = Engine.start(config(bootstrap, "first", 60));
        Map<String, Object> client = Map.of("bootstrap.servers", bootstrap);
        EngineConfig.Topics topics = engine.config().topics();
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(client, new StringSerializer(), new ByteArraySerializer());
             TopicLog log = new TopicLog(client, topics.results(), topics.log())) {
            p.send(new ProducerRecord<>(topics.jobs(), "done-1", job.getBytes(StandardCharsets.UTF_8))).get();
            log.await(Duration.ofMinutes(1), "done-1's result", () -> !log.values(topics.results(), "done-1").isEmpty());
            assertThat(log.values(topics.results(), "done-1").get(0).path("status").asText()).isEqualTo("SUCCEEDED");
        }
        engine.close();
        engine = null;
        broker.close();

        // a second engine starts while no broker answers: it waits, not ready, and says why
        HealthChecks status = new HealthChecks();
        EngineConfig second = config(bootstrap, "second", 300);
        CompletableFuture<Engine> starting = CompletableFuture.supplyAsync(() -> {
            try {
                return Engine.start(second, java.util.List.of(), null, status);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await(Duration.ofSeconds(30), "the broker check to say why it fails", () -> {
            HealthChecks.Status b = readiness(status, Engine.BROKER);
            return b != null && !b.up() && !b.message().equals("starting");
        });
        assertThat(readiness(status, Engine.ENGINE).up()).isFalse();
        assertThat(status.ready()).isFalse();

        // the broker comes back: the engine gets ready only once its index holds done-1
        broker = EmbeddedKafkaBroker.startOnPorts(data, port, 0);
        engine = starting.get(3, java.util.concurrent.TimeUnit.MINUTES);
        assertThat(status.ready()).as(status.statuses(HealthChecks.Kind.READINESS).toString()).isTrue();
        assertThat(engine.resultIndex().outcome("done-1").name()).isEqualTo("SUCCEEDED");
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(client, new StringSerializer(), new ByteArraySerializer());
             TopicLog log = new TopicLog(client, topics.results(), topics.log())) {
            p.send(new ProducerRecord<>(topics.jobs(), "done-1", job.getBytes(StandardCharsets.UTF_8))).get();
            log.await(Duration.ofMinutes(1), "done-1 skipped", () -> !log.events(topics.log(), "done-1", "skipped").isEmpty());
            assertThat(log.events(topics.log(), "done-1", "started")).as("ran once, by the first engine").hasSize(1);
            assertThat(log.values(topics.results(), "done-1")).hasSize(1);
        }

        // the broker goes away under the running engine: it stops taking jobs
        broker.close();
        broker = null;
        await(Duration.ofSeconds(60), "the results index to stop following", () -> !readiness(status, Engine.DEDUP_INDEX).up());
        assertThat(status.ready()).isFalse();
        assertThat(engine.resultIndex().caughtUp()).isFalse();
        await(Duration.ofSeconds(10), "the consumer to stop taking jobs", () -> engine.consumerNotReady() != null);
        assertThat(readiness(status, Engine.ENGINE).message()).contains("taking no jobs");

        // back: ready again once the index has caught up, and jobs run
        broker = EmbeddedKafkaBroker.startOnPorts(data, port, 0);
        await(Duration.ofSeconds(90), "ready again", status::ready);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(client, new StringSerializer(), new ByteArraySerializer());
             TopicLog log = new TopicLog(client, topics.results(), topics.log())) {
            String next = job.replace("done-1", "after-1");
            p.send(new ProducerRecord<>(topics.jobs(), "after-1", next.getBytes(StandardCharsets.UTF_8))).get();
            log.await(Duration.ofMinutes(1), "after-1's result", () -> !log.values(topics.results(), "after-1").isEmpty());
            JsonNode r = log.values(topics.results(), "after-1").get(0);
            assertThat(r.path("status").asText()).isEqualTo("SUCCEEDED");
            assertThat(r.path("engine").asText()).isEqualTo("second");
        }
    }
}
