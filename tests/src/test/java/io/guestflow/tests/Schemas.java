package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The JSON Schemas of config/schemas, as the documentation of the topics: records must satisfy them. */
final class Schemas {
    private static final Map<String, JsonSchema> LOADED = new ConcurrentHashMap<>();

    private Schemas() {
    }

    /** Fails with the violations when {@code node} does not satisfy config/schemas/{@code file}. */
    static void assertValid(String file, JsonNode node) {
        JsonSchema schema = LOADED.computeIfAbsent(file, f -> {
            Path p = Path.of(System.getProperty("guestflow.repo", ".."), "config", "schemas", f);
            try {
                return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(Files.readString(p));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        assertThat(schema.validate(node)).as(file + " violations of " + node).isEmpty();
    }
}
