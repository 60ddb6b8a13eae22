package io.guestflow.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.guestflow.engine.InspectBatchCollector.Queued;
import io.guestflow.processors.job.Job;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How one poll's jobs become units of work. */
class InspectBatchCollectorTest {

    private static Queued job(String id, String type, boolean debug, String label) {
        return new Queued(new Job(id, type, List.of(new Job.Disk("/images/" + id + ".qcow2", null, label)), null,
                JsonNodeFactory.instance.objectNode(), 1800, Map.of(), debug), Instant.now(), Instant.now());
    }

    private static List<List<String>> ids(List<List<Queued>> units) {
        return units.stream().map(u -> u.stream().map(q -> q.job().jobId()).toList()).toList();
    }

    @Test
    void inspectJobsAreBatchedUpToTheSizeOthersRunOneByOne() {
        List<Queued> poll = new ArrayList<>();
        poll.add(job("i1", "inspect", false, null));
        poll.add(job("s1", "sysprep", false, null));
        poll.add(job("i2", "inspect", false, null));
        poll.add(job("i3", "inspect", false, null));
        poll.add(job("dbg", "inspect", true, null));
        poll.add(job("lbl", "inspect", false, "root"));
        poll.add(job("i4", "inspect", false, null));
        assertThat(ids(new InspectBatchCollector(3).units(poll)))
                .containsExactly(List.of("i1", "i2", "i3"), List.of("s1"), List.of("dbg"), List.of("lbl"), List.of("i4"));
    }

    @Test
    void anInspectJobWithKeysRunsAlone() {
        List<Queued> poll = new ArrayList<>();
        poll.add(job("i1", "inspect", false, null));
        Job keyed = job("luks", "inspect", false, null).job().withKeys(List.of(new Job.Key("all", "web.key")));
        poll.add(new Queued(keyed, Instant.now(), Instant.now()));
        poll.add(job("i2", "inspect", false, null));
        assertThat(InspectBatchCollector.batchable(keyed)).isFalse();
        assertThat(ids(new InspectBatchCollector(8).units(poll)))
                .containsExactly(List.of("i1", "i2"), List.of("luks"));
    }

    @Test
    void batchSizeOneRunsEveryJobAlone() {
        List<Queued> poll = List.of(job("i1", "inspect", false, null), job("i2", "inspect", false, null));
        assertThat(ids(new InspectBatchCollector(1).units(poll))).containsExactly(List.of("i1"), List.of("i2"));
    }
}
