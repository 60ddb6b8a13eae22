package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.guestflow.pool.PoolMetrics;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LUKS keys never leak, through the engine on a real broker: keyed jobs that
 * are REJECTED (a key file read and then another missing, a key file that
 * escapes the secrets dir by a symlink, keys on resize and info) and jobs
 * that carry a key inline (REJECTED with a jobId, dead-lettered without one)
 * leave neither a passphrase nor an inline key in any record of any topic the
 * engine writes, headers included, nor in the engine's log at DEBUG. Every
 * refusal comes before a launch: the pool counts none. No appliance, no lock.
 */
class KeyLeakTest {
    private static final String PASSPHRASE = "Tr0ub4dor-passphrase-of-web01";
    private static final String OUTSIDE = "outside-the-secrets-dir-9f2c";
    private static final String INLINE = "inline-key-never-echoed-77a1";

    @TempDir
    Path work;

    @Test
    void noKeyReachesATopicOrTheLog() throws Exception {
        Path root = Files.createDirectories(work.resolve("images"));
        Path secrets = Files.createDirectories(work.resolve("secrets"));
        Path outside = Files.createDirectories(work.resolve("outside"));
        Files.writeString(secrets.resolve("web01.key"), PASSPHRASE + "\n");
        Files.writeString(outside.resolve("stolen.key"), OUTSIDE + "\n");
        Files.createSymbolicLink(secrets.resolve("escape.key"), outside.resolve("stolen.key"));
        Path disk = Images.smallQcow2(root.resolve("web01.qcow2"));
        String d = "\"disks\":[{\"uri\":\"" + disk.toUri() + "\"}]";

        StringWriter log = new StringWriter();
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration conf = ctx.getConfiguration();
        WriterAppender appender = WriterAppender.createAppender(PatternLayout.newBuilder().withPattern("%m %ex%n")
                .withConfiguration(conf).build(), null, log, "key-leak", false, true);
        appender.start();
        conf.addAppender(appender);
        conf.getRootLogger().addAppender(appender, Level.ALL, null);
        Level before = LogManager.getLogger("io.guestflow").getLevel();
        Configurator.setLevel("io.guestflow", Level.DEBUG);
        ctx.updateLoggers();

        Map<String, String> props = new LinkedHashMap<>();
        props.put("guestflow.engine.secrets-dir", secrets.toString());
        props.put("guestflow.engine.max-attempts", "1");
        // whatever slipped through would fail its launch within a second instead of booting
        props.put("guestflow.pool.acceleration", "tcg");
        props.put("guestflow.pool.launch-timeout-seconds", "1");
        Map<String, String> reasons = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        try (TestEngine engine = TestEngine.start(root, work, props)) {
            Map<String, String> jobs = new LinkedHashMap<>();
            // the first key file is read, the second is missing: REJECTED, and the first key went nowhere
            jobs.put("read-then-missing", "{\"jobId\":\"read-then-missing\",\"type\":\"inspect\"," + d + ",\"keys\":["
                    + "{\"device\":\"/dev/sda2\",\"file\":\"web01.key\"},{\"device\":\"all\",\"file\":\"gone.key\"}]}");
            jobs.put("symlink-out", "{\"jobId\":\"symlink-out\",\"type\":\"journal\"," + d
                    + ",\"keys\":[{\"device\":\"all\",\"file\":\"escape.key\"}]}");
            jobs.put("resize-keys", "{\"jobId\":\"resize-keys\",\"type\":\"resize\"," + d + ",\"output\":{\"uri\":\""
                    + work.resolve("out/big.qcow2").toUri() + "\"},\"options\":{\"size\":\"+1G\"},"
                    + "\"keys\":[{\"device\":\"all\",\"file\":\"web01.key\"}]}");
            jobs.put("info-keys", "{\"jobId\":\"info-keys\",\"type\":\"info\"," + d
                    + ",\"keys\":[{\"device\":\"all\",\"file\":\"web01.key\"}]}");
            jobs.put("inline-entry", "{\"jobId\":\"inline-entry\",\"type\":\"inspect\"," + d
                    + ",\"keys\":[{\"device\":\"all\",\"passphrase\":\"" + INLINE + "\"}]}");
            jobs.put("inline-top", "{\"jobId\":\"inline-top\",\"type\":\"sysprep\"," + d + ",\"key\":\"" + INLINE + "\"}");
            engine.submitAll(jobs);
            Map<String, JsonNode> results = engine.awaitResults(jobs.keySet(), Duration.ofMinutes(2));
            results.forEach((id, r) -> reasons.put(id, r.path("status").asText() + " " + r.path("error").path("message").asText()));
            // no jobId: dead letters, one JSON with the key masked, one no JSON whose value goes altogether
            engine.submitAll(Map.of("dlq-json", "{\"type\":\"inspect\",\"keys\":[{\"device\":\"all\",\"key\":\""
                    + INLINE + "\"}]}"));
            engine.submitAll(Map.of("dlq-broken", "{\"jobId\":\"x\",\"passphrase\":\"" + INLINE + "\""));
            long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
            while (engine.records(engine.topics().dlq()).size() < 2 && System.nanoTime() < deadline) {
                engine.poll();
            }
            // a moment for the events and log lines that follow the results
            engine.poll();

            assertThat(reasons.get("read-then-missing")).startsWith("REJECTED keys[1].file 'gone.key' does not exist");
            assertThat(reasons.get("symlink-out")).startsWith("REJECTED keys[0].file 'escape.key' is not inside"
                    + " guestflow.engine.secrets-dir");
            assertThat(reasons.get("resize-keys")).startsWith("REJECTED keys: resize takes no keys: virt-resize");
            assertThat(reasons.get("info-keys")).startsWith("REJECTED keys: info launches no appliance");
            assertThat(reasons.get("inline-entry")).contains("keys are given by file");
            assertThat(reasons.get("inline-top")).startsWith("REJECTED 'key': keys are given by file");

            List<ConsumerRecord<String, byte[]>> dlq = engine.records(engine.topics().dlq());
            assertThat(dlq).hasSize(2);
            assertThat(headers(dlq.get(0)) + headers(dlq.get(1))).contains("guestflow.redacted=inline key values masked")
                    .contains("guestflow.redacted=value dropped");

            int checked = 0;
            for (ConsumerRecord<String, byte[]> rec : engine.seen()) {
                if (rec.topic().equals(engine.topics().jobs())) {
                    continue; // what the producer wrote: the test's own messages
                }
                String text = (rec.value() == null ? "" : new String(rec.value(), StandardCharsets.UTF_8)) + headers(rec);
                assertThat(text).as("%s record of %s", rec.topic(), rec.key()).doesNotContain(PASSPHRASE)
                        .doesNotContain(OUTSIDE).doesNotContain(INLINE);
                checked++;
            }
            assertThat(checked).as("results, events and dead letters read").isGreaterThanOrEqualTo(2 * jobs.size() + 2);
            PoolMetrics m = engine.engine().pool().metrics();
            assertThat(m.launches()).as("appliances launched").isZero();
            assertThat(m.launchFailures()).as("launches attempted").isZero();
        } finally {
            conf.getRootLogger().removeAppender("key-leak");
            Configurator.setLevel("io.guestflow", before);
            ctx.updateLoggers();
            appender.stop();
        }
        assertThat(log.toString()).as("the engine's log").contains("read-then-missing")
                .doesNotContain(PASSPHRASE).doesNotContain(OUTSIDE).doesNotContain(INLINE);
        System.out.printf("key leak: %d keyed jobs, 2 dead letters, %.1f s, 0 launches%n", reasons.size(),
                (System.nanoTime() - t0) / 1e9);
    }

    private static String headers(ConsumerRecord<String, byte[]> rec) {
        StringBuilder b = new StringBuilder();
        for (Header h : rec.headers()) {
            b.append(h.key()).append('=').append(new String(h.value(), StandardCharsets.UTF_8)).append('\n');
        }
        return b.toString();
    }
}
