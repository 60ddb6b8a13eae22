package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * docker-compose.yml cannot run here (no Docker engine), so its wiring is
 * checked against the configuration: every GUESTFLOW_* variable names a
 * real setting, topics match the defaults, the engine reaches the broker's
 * advertised listener, and the image/output roots are mounted volumes.
 */
class ComposeFileTest {
    private static final Path REPO = Path.of(System.getProperty("guestflow.repo", ".."));

    @Test
    void composeWiringMatchesTheConfiguration() throws Exception {
        JsonNode compose = new ObjectMapper(new YAMLFactory()).readTree(REPO.resolve("docker-compose.yml").toFile());
        Properties defaults = new Properties();
        try (Reader r = Files.newBufferedReader(REPO.resolve("config/application.properties"))) {
            defaults.load(r);
        }
        JsonNode kafka = compose.path("services").path("kafka");
        JsonNode engine = compose.path("services").path("engine");
        assertThat(kafka.path("image").asText()).startsWith("apache/kafka:");
        assertThat(engine.path("build").asText()).isEqualTo(".");
        assertThat(REPO.resolve("Dockerfile")).exists();
        assertThat(engine.path("depends_on").has("kafka")).isTrue();

        Map<String, String> env = new ObjectMapper().convertValue(engine.path("environment"), Map.class);
        List<String> unknown = new ArrayList<>();
        for (String var : env.keySet()) {
            boolean known = defaults.stringPropertyNames().stream().anyMatch(k -> envName(k).equals(var));
            if (!known) {
                unknown.add(var);
            }
        }
        assertThat(unknown).as("GUESTFLOW_* variables that name no setting").isEmpty();
        for (String topic : List.of("jobs", "results", "log", "journal", "dlq", "claims")) {
            String key = "guestflow.engine.topic." + topic;
            assertThat(env.get(envName(key))).as(key).isEqualTo(defaults.getProperty(key));
        }
        String advertised = kafka.path("environment").path("KAFKA_ADVERTISED_LISTENERS").asText();
        String bootstrap = env.get("GUESTFLOW_ENGINE_BOOTSTRAP_SERVERS");
        assertThat(advertised).contains("//" + bootstrap);

        List<String> mounts = new ArrayList<>();
        engine.path("volumes").forEach(v -> mounts.add(v.asText()));
        List<String> declared = new ArrayList<>();
        for (Iterator<String> it = compose.path("volumes").fieldNames(); it.hasNext(); ) {
            declared.add(it.next());
        }
        for (String rootVar : List.of("GUESTFLOW_ENGINE_IMAGE_ROOT", "GUESTFLOW_ENGINE_OUTPUT_ROOT", "GUESTFLOW_POOL_CACHE_DIR")) {
            String dir = env.get(rootVar);
            assertThat(mounts).as(rootVar + " is a mounted volume").anyMatch(m -> m.split(":")[1].equals(dir));
        }
        for (String m : mounts) {
            assertThat(declared).as("volume of mount " + m).contains(m.split(":")[0]);
        }
    }

    private static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }
}
