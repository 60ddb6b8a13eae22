package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.pool.FileTrees;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Tag;

/**
 * The journal and log topics through the engine on a real broker: a journal
 * job's records on {@code guestflow.journal} equal journalctl's entries for
 * the same filter, in order, before its result; a resize job's progress on
 * {@code guestflow.log} rises to 100 % in every call, named by its step.
 * Two appliance launches.
 */
@Tag("appliance")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TopicStreamsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path work;
    private TestEngine engine;
    private List<Path> tmpBefore;

    @BeforeAll
    void start() throws Exception {
        tmpBefore = Leftovers.libguestfsTmpDirs();
        work = Files.createTempDirectory("guestflow-topics-test");
        Path images = Files.createDirectories(work.resolve("images"));
        // copies: the image root must hold them, and the caches are never handed to the engine
        Files.copy(JournalFixtures.image(JournalFixtures.Guest.JOURNAL), images.resolve("journal.qcow2"));
        // libguestfs reports a call's progress only once it has run for about two seconds: the resize copies
        // the sparsify fixture's guest, whose LVM partition (~230 MB, half of it random data) takes longer than that
        // to copy even on a fast host
        Files.copy(SparsifyFixture.ensure().image(SparsifyFixture.A), images.resolve("dirty.qcow2"));
        engine = TestEngine.start(images, work);
    }

    @AfterAll
    void stop() throws Exception {
        if (engine != null) {
            engine.close();
        }
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isEmpty();
        Leftovers.assertNoLibguestfsDirsLeft(tmpBefore);
        FileTrees.delete(work);
    }

    @Test
    void aJournalJobPublishesJournalctlsEntriesInOrderBeforeItsResult() throws Exception {
        String id = "journal-p3";
        JsonNode result = engine.run(id, "{\"jobId\":\"" + id + "\",\"type\":\"journal\",\"options\":{\"priority\":3},"
                + "\"disks\":[{\"uri\":\"" + work.resolve("images/journal.qcow2").toUri() + "\",\"format\":\"qcow2\"}]}", Duration.ofMinutes(15));
        assertThat(result.path("status").asText()).as(result.toString()).isEqualTo("SUCCEEDED");
        List<JsonNode> records = engine.values(engine.topics().journal(), id);
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
        records.forEach(r -> Schemas.assertValid("journal-record.schema.json", r));
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
        for (ConsumerRecord<String, byte[]> r : engine.seen()) {
            if (id.equals(r.key()) && r.topic().equals(engine.topics().journal())) {
                lastRecordTime = Math.max(lastRecordTime, r.timestamp());
            }
            if (id.equals(r.key()) && r.topic().equals(engine.topics().results())) {
                resultSeenAt = r.timestamp();
            }
        }
        assertThat(lastRecordTime).isLessThanOrEqualTo(resultSeenAt);
    }

    @Test
    void aResizeJobsProgressRisesTo100InEveryCallAndNamesItsStep() throws Exception {
        String id = "resize-progress";
        JsonNode result = engine.run(id, "{\"jobId\":\"" + id + "\",\"type\":\"resize\",\"options\":{\"size\":\"+64M\","
                + "\"expand\":\"/dev/sda4\"},\"disks\":[{\"uri\":\"" + work.resolve("images/dirty.qcow2").toUri()
                + "\",\"format\":\"qcow2\"}],\"output\":{\"uri\":\"" + work.resolve("out/dirty-big.qcow2").toUri() + "\"}}",
                Duration.ofMinutes(15));
        assertThat(result.path("status").asText()).as(result.toString()).isEqualTo("SUCCEEDED");
        List<JsonNode> events = engine.values(engine.topics().log(), id);
        events.forEach(e -> Schemas.assertValid("event.schema.json", e));
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
        // the appliance's boot reports progress as the step "launch", not as the calls launch makes itself
        assertThat(runs).anyMatch(r -> r.get(0).path("step").asText().equals("launch"));
        assertThat(progress).noneMatch(d -> d.path("step").asText().startsWith("get_"));
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
