package io.guestflow.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.guestflow.pool.GuestEvent;
import io.guestflow.pool.GuestEvent.Kind;
import java.util.List;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** The step a job's libguestfs events name (the real event stream is in the tests module's TopicStreamsTest). */
class EventPublisherTest {
    private final MockProducer<String, byte[]> producer =
            new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    private final EventPublisher events = new EventPublisher(producer, "log", "test", Engine.json());

    private void fire(Kind kind, String message, long position, long total) {
        events.libguestfs("j1", new GuestEvent("j1", kind, message, position, total), false);
    }

    private List<String> publishedSteps() throws Exception {
        List<String> out = new java.util.ArrayList<>();
        for (var r : producer.history()) {
            JsonNode data = Engine.json().readTree(r.value()).path("data");
            out.add(data.path("step").asText());
        }
        return out;
    }

    @Test
    void theCallsLaunchMakesItselfDoNotRenameTheStep() throws Exception {
        fire(Kind.ENTER, "add_drive", 0, 0);
        fire(Kind.ENTER, "launch", 0, 0);
        fire(Kind.ENTER, "get_backend_setting", 0, 0);
        fire(Kind.PROGRESS, "", 3, 4);
        fire(Kind.LAUNCH_DONE, "", 0, 0);
        fire(Kind.ENTER, "copy_device_to_device", 0, 0);
        fire(Kind.PROGRESS, "", 4, 4);
        // published: the launch's progress, LAUNCH_DONE, and the copy's final progress
        assertThat(publishedSteps()).containsExactly("launch", "launch", "copy_device_to_device");
    }

    @Test
    void aFinishedJobForgetsItWasLaunching() throws Exception {
        fire(Kind.ENTER, "launch", 0, 0);
        events.finished("j1");
        fire(Kind.ENTER, "inspect_os", 0, 0);
        fire(Kind.PROGRESS, "", 1, 1);
        assertThat(publishedSteps()).containsExactly("inspect_os");
    }

    /** One redaction for every event: a rejection's reason, a trace line with an http drive's path. */
    @Test
    void secretsNeverLeaveInAnEvent() throws Exception {
        events.lifecycle("j1", Lifecycle.REJECTED, java.util.Map.of("reason",
                "disk https://admin:p@ss@cdn.example/d.img?token=s3cretTok is remote"));
        events.libguestfs("j1", new GuestEvent("j1", Kind.TRACE, "add_drive_opts \"/d.img?X-Amz-Signature=s3cretSig\"", 0, 0), true);
        for (var r : producer.history()) {
            String text = new String(r.value(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(text).doesNotContain("p@ss").doesNotContain("s3cretTok").doesNotContain("s3cretSig").contains("***");
        }
        assertThat(producer.history()).hasSize(2);
    }
}
