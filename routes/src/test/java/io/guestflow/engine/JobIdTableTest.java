package io.guestflow.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class JobIdTableTest {

    /** Puts, overwrites and removes (backward shift) against a HashMap, through several growths. */
    @Test
    void behavesLikeAMapThroughGrowthAndRemoval() {
        JobIdTable t = new JobIdTable(16);
        Map<String, Byte> ref = new HashMap<>();
        Random rnd = new Random(42);
        for (int i = 0; i < 200_000; i++) {
            String id = "job-" + rnd.nextInt(50_000);
            int op = rnd.nextInt(10);
            if (op < 6) {
                byte s = (byte) (1 + rnd.nextInt(5));
                t.put(JobIdTable.key(id), s);
                ref.put(id, s);
            } else if (op < 8) {
                assertThat(t.remove(JobIdTable.key(id))).isEqualTo(ref.remove(id) != null);
            } else {
                assertThat(t.get(JobIdTable.key(id))).as(id).isEqualTo(ref.getOrDefault(id, (byte) 0));
            }
        }
        assertThat(t.size()).isEqualTo(ref.size());
        ref.forEach((id, s) -> assertThat(t.get(JobIdTable.key(id))).isEqualTo(s));
    }

    @Test
    void aMillionIdsFitIn36Megabytes() {
        JobIdTable t = new JobIdTable(16);
        for (int i = 0; i < 1_000_000; i++) {
            t.put(JobIdTable.key("scan-nightly-" + i), (byte) 1);
        }
        assertThat(t.size()).isEqualTo(1_000_000);
        assertThat(t.memoryBytes()).isLessThanOrEqualTo(36L * 1024 * 1024);
    }

    @Test
    void theOutcomeComesFromTheHeaderOrTheStartOfTheResult() {
        RecordHeaders none = new RecordHeaders();
        assertThat(ResultIndex.outcomeOf(none, json("{\"jobId\":\"a\",\"type\":\"info\",\"status\":\"SUCCEEDED\",\"output\":{}}")))
                .isEqualTo(ResultIndex.Outcome.SUCCEEDED);
        assertThat(ResultIndex.outcomeOf(none, json("{\"jobId\":\"a\",\"status\":\"FAILED\",\"output\":{\"x\":[1,{\"retryable\":true}]},"
                + "\"error\":{\"code\":\"LAUNCH_FAILED\",\"message\":\"m\",\"retryable\":true}}")))
                .isEqualTo(ResultIndex.Outcome.FAILED_RETRYABLE);
        assertThat(ResultIndex.outcomeOf(none, json("{\"jobId\":\"a\",\"status\":\"FAILED\",\"error\":{\"retryable\":false}}")))
                .isEqualTo(ResultIndex.Outcome.FAILED);
        assertThat(ResultIndex.outcomeOf(none, json("{\"kind\":\"scan-summary\",\"scan\":\"n\"}"))).isEqualTo(ResultIndex.Outcome.OTHER);
        assertThat(ResultIndex.outcomeOf(none, json("not json"))).isEqualTo(ResultIndex.Outcome.OTHER);
        RecordHeaders h = new RecordHeaders();
        h.add(ResultIndex.STATUS_HEADER, "REJECTED".getBytes(StandardCharsets.UTF_8));
        h.add(ResultIndex.RETRYABLE_HEADER, "false".getBytes(StandardCharsets.UTF_8));
        assertThat(ResultIndex.outcomeOf(h, json("{\"status\":\"SUCCEEDED\"}"))).as("the header wins").isEqualTo(ResultIndex.Outcome.REJECTED);
    }

    private static byte[] json(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
