package io.guestflow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressDisplayTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode progress(String step, double percent) throws Exception {
        return JSON.readTree("{\"type\":\"io.guestflow.libguestfs.progress\",\"time\":\"t\",\"data\":{\"step\":\"" + step
                + "\",\"percent\":" + percent + "}}");
    }

    private static JsonNode lifecycle(String what) throws Exception {
        return JSON.readTree("{\"type\":\"io.guestflow.job." + what + "\",\"time\":\"t\",\"data\":{\"attempt\":1}}");
    }

    private static String render(boolean terminal, JsonNode... events) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ProgressDisplay d = new ProgressDisplay(new PrintStream(bytes, true, StandardCharsets.UTF_8), terminal);
        for (JsonNode e : events) {
            d.event(e);
        }
        d.done();
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aTerminalGetsOneBarRedrawnInPlaceWithTheStep() throws Exception {
        String out = render(true, lifecycle("started"), progress("copy_device_to_device", 0),
                progress("copy_device_to_device", 50), progress("copy_device_to_device", 100), lifecycle("succeeded"));
        String[] lines = out.split("\n");
        assertThat(lines).hasSize(3);
        assertThat(lines[0]).startsWith("[t] started");
        assertThat(lines[1]).contains("\r[" + "#".repeat(15) + ".".repeat(15) + "]  50.0 % copy_device_to_device")
                .endsWith("] 100.0 % copy_device_to_device".concat(" ".repeat(32 - "copy_device_to_device".length())));
        assertThat(lines[2]).startsWith("[t] succeeded");
    }

    @Test
    void plainOutputHasNoCarriageReturnsAndThinsProgressToSteps() throws Exception {
        JsonNode[] events = new JsonNode[23];
        events[0] = lifecycle("started");
        for (int i = 0; i <= 20; i++) {
            events[i + 1] = progress("zero_free_space", i * 5);
        }
        events[22] = lifecycle("succeeded");
        String out = render(false, events);
        assertThat(out).doesNotContain("\r");
        assertThat(out.lines().filter(l -> l.contains("zero_free_space")).toList())
                .containsExactly("[t] zero_free_space 0.0 %", "[t] zero_free_space 10.0 %", "[t] zero_free_space 20.0 %",
                        "[t] zero_free_space 30.0 %", "[t] zero_free_space 40.0 %", "[t] zero_free_space 50.0 %",
                        "[t] zero_free_space 60.0 %", "[t] zero_free_space 70.0 %", "[t] zero_free_space 80.0 %",
                        "[t] zero_free_space 90.0 %", "[t] zero_free_space 100.0 %");
        assertThat(out.lines().toList()).first().asString().startsWith("[t] started");
        assertThat(out.lines().toList()).last().asString().startsWith("[t] succeeded");
    }

    @Test
    void aNewStepIsAlwaysShownInPlainOutput() throws Exception {
        String out = render(false, progress("a", 0), progress("a", 3), progress("b", 1), progress("a", 2));
        assertThat(out.lines().toList()).containsExactly("[t] a 0.0 %", "[t] b 1.0 %", "[t] a 2.0 %");
    }
}
