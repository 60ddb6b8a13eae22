package io.guestflow.processors.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobRejectedException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class JournalOptionsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Job job(String options) throws Exception {
        return new Job("j1", "journal", List.of(new Job.Disk("/images/a.qcow2", null, null)), null,
                (ObjectNode) JSON.readTree(options), 3600, Map.of(), false);
    }

    @Test
    void everyFilterIsParsed() throws Exception {
        JournalOptions o = JournalOptions.of(job("""
                {"since":"2026-11-20T10:00:00Z","until":"2026-11-20T12:00:00+01:00","priority":"warning",
                 "identifiers":["sshd"],"units":["cron","app.socket"],"bootId":"B0070000-0000-0000-0000-000000000001",
                 "grep":"err(or)?","maxEntries":10,"lines":5,"fields":["MESSAGE","_PID"]}"""));
        assertThat(o.since()).isEqualTo(Instant.parse("2026-11-20T10:00:00Z"));
        assertThat(o.until()).isEqualTo(Instant.parse("2026-11-20T11:00:00Z"));
        assertThat(o.priority()).isEqualTo(4);
        assertThat(o.units()).containsExactly("cron.service", "app.socket");
        assertThat(o.bootId()).isEqualTo("b0070000000000000000000000000001");
        assertThat(o.maxEntries()).isEqualTo(10L);
        assertThat(o.lines()).isEqualTo(5);
        assertThat(o.fields()).containsExactly("MESSAGE", "_PID");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"level\":3}|journal has no option 'level'",
        "{\"priority\":9}|option 'priority'",
        "{\"priority\":\"loud\"}|option 'priority'",
        "{\"since\":\"yesterday\"}|option 'since' is not an ISO-8601 timestamp",
        "{\"since\":\"2026-11-21T00:00:00Z\",\"until\":\"2026-11-20T00:00:00Z\"}|is after 'until'",
        "{\"bootId\":\"-1\"}|option 'bootId' must be a boot ID",
        "{\"grep\":\"(\"}|option 'grep' is not a valid regular expression",
        "{\"maxEntries\":0}|option 'maxEntries' must be a positive integer",
        "{\"lines\":1000001}|option 'lines' must be an integer from 1 to 100000",
        "{\"fields\":[\"message\"]}|is not a journal field name",
        "{\"units\":[]}|option 'units' must be a non-empty array"})
    void badOptionsAreRejectedWithTheReason(String options, String reason) throws Exception {
        Job j = job(options);
        assertThatThrownBy(() -> JournalOptions.of(j)).isInstanceOf(JobRejectedException.class).hasMessageContaining(reason);
    }

    @Test
    void aJournalJobTakesNoOutput() throws Exception {
        Job j = new Job("j1", "journal", List.of(new Job.Disk("/images/a.qcow2", null, null)),
                new Job.Output("/out/x.json", null), JSON.createObjectNode(), 3600, Map.of(), false);
        assertThatThrownBy(() -> JournalOptions.of(j)).hasMessageContaining("takes no output");
    }

    @Test
    void priorityNamesAreJournalctls() {
        assertThat(JournalOptions.priorityLevel("emerg")).isZero();
        assertThat(JournalOptions.priorityLevel("err")).isEqualTo(3);
        assertThat(JournalOptions.priorityLevel("debug")).isEqualTo(7);
        assertThat(JournalOptions.priorityLevel("6")).isEqualTo(6);
    }

    @Test
    void theDocumentedExampleJobIsValid() throws Exception {
        byte[] raw = java.nio.file.Files.readAllBytes(java.nio.file.Path.of("../config/examples/journal.json"));
        var registry = io.guestflow.processors.JobOperations.defaults();
        Job job = new io.guestflow.processors.job.JobParser(registry).parse(raw);
        registry.get("journal").validate(job);
        JournalOptions o = JournalOptions.of(job);
        assertThat(o.priority()).isEqualTo(3);
        assertThat(o.units()).containsExactly("nginx.service", "ssh.service");
    }
}
