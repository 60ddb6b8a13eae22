package io.guestflow.processors.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonNodePath;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The shape of a job: {@code config/schemas/job.schema.json}, packaged into
 * the jar at build time and checked with the networknt validator. Each
 * violation is said in words: which field, and what it must be. What a
 * schema cannot say (paths and their policy, the engine's limits, secrets in
 * URIs, each operation's options) stays with {@link JobParser} and the
 * operations.
 */
final class JobSchema {
    /** Where the build puts config/schemas/job.schema.json. */
    static final String RESOURCE = "/io/guestflow/schemas/job.schema.json";

    /** The job's fields in the order rejections name them (unknown fields come first). */
    private static final List<String> FIELD_ORDER =
            List.of("jobId", "type", "disks", "output", "options", "timeoutSeconds", "labels", "debug", "rerun", "keys");

    /** What a field must be, by its place (array indices as []): the words of the rejection. */
    private static final Map<String, String> MUST_BE = Map.ofEntries(
            Map.entry("type", "must be a non-empty string"),
            Map.entry("disks", "must be a non-empty array (the disks of one guest)"),
            Map.entry("disks[]", "must be an object with a uri"),
            Map.entry("disks[].uri", "must be a non-empty string"),
            Map.entry("disks[].label", "must be 1-20 ASCII letters"),
            Map.entry("output", "must be an object with a uri"),
            Map.entry("output.uri", "must be a non-empty string"),
            Map.entry("output.overwrite", "must be true or false"),
            Map.entry("options", "must be an object"),
            Map.entry("labels", "must be an object of strings"),
            Map.entry("debug", "must be true or false"),
            Map.entry("rerun", "must be true or false"),
            Map.entry("keys", "must be an array of at most " + JobKeys.MAX_KEYS + " {device, file}"),
            Map.entry("keys[].device", "must be a device selector (/dev/sda2, /dev/VG/LV, a LUKS UUID, or all)"),
            Map.entry("keys[].file", "must be a path of 1-" + JobKeys.MAX_FILE_NAME + " characters under"
                    + " guestflow.engine.secrets-dir"));

    private static final JsonSchema SCHEMA = load();

    /** One field the schema refuses: where ({@code disks[0].format}, "" for the job itself) and why, in words. */
    record Violation(String field, String reason) {
        /** Inside {@code options}, whose operation says it first, in its own words. */
        boolean inOptions() {
            return field.equals("options") || field.startsWith("options.");
        }
    }

    private JobSchema() {
    }

    private static JsonSchema load() {
        try (InputStream in = JobSchema.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the classpath (the build copies config/schemas)");
            }
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * What the schema refuses in {@code job}: unknown fields first, then by
     * field in the order of {@link #FIELD_ORDER}, an object's unknown fields
     * before its other faults.
     */
    static List<Violation> check(JsonNode job) {
        return SCHEMA.validate(job).stream()
                .sorted(Comparator.comparingInt(JobSchema::rank)
                        .thenComparingInt(m -> "additionalProperties".equals(m.getType()) ? 0 : 1))
                .map(m -> new Violation(field(m.getInstanceLocation()), reason(m)))
                .toList();
    }

    private static int rank(ValidationMessage m) {
        JsonNodePath at = m.getInstanceLocation();
        if (at.getNameCount() == 0) {
            return "additionalProperties".equals(m.getType()) ? -1 : FIELD_ORDER.indexOf(m.getProperty());
        }
        return FIELD_ORDER.indexOf(at.getName(0));
    }

    private static String reason(ValidationMessage m) {
        String field = field(m.getInstanceLocation());
        JsonNode value = m.getInstanceNode();
        switch (m.getType()) {
            case "additionalProperties":
                return (field.isEmpty() ? "" : field + ": ") + "unknown field '" + m.getProperty() + "'";
            case "required":
                String missing = field.isEmpty() ? m.getProperty() : field + "." + m.getProperty();
                return missing.equals("disks") ? "disks " + MUST_BE.get("disks") : missing + " is required";
            default:
                break;
        }
        String place = field.replaceAll("\\[\\d+]", "[]");
        if (place.startsWith("labels.")) {
            return "label '" + field.substring("labels.".length()) + "' must be a string";
        }
        if (m.getType().equals("enum") && value != null && value.isTextual()) {
            String what = place.equals("type") ? "job type" : place.endsWith("format") ? "disk format" : field;
            return (place.equals("type") ? "" : field + ": ") + "unknown " + what + " '" + abbreviate(value.asText())
                    + "' (known: " + enumValues(m) + ")";
        }
        if (place.equals("disks") && m.getType().equals("maxItems")) {
            return "at most " + m.getSchemaNode().asInt() + " disks per job";
        }
        if (value == null || value.isNull()) {
            return field + " is required";
        }
        String mustBe = MUST_BE.get(place);
        if (mustBe != null) {
            return field + " " + mustBe;
        }
        // a field without words of its own (inside options): the validator's, without its "$.a.b: " prefix
        String message = m.getMessage();
        int colon = message.indexOf(": ");
        return field + ": " + (colon >= 0 ? message.substring(colon + 2) : message);
    }

    private static String enumValues(ValidationMessage m) {
        StringBuilder b = new StringBuilder("[");
        for (JsonNode v : m.getSchemaNode()) {
            if (v.isTextual()) {
                b.append(b.length() > 1 ? ", " : "").append(v.asText());
            }
        }
        return b.append(']').toString();
    }

    /** {@code disks[0].format}: names joined with dots, array indices in brackets. */
    static String field(JsonNodePath path) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < path.getNameCount(); i++) {
            Object e = path.getElement(i);
            if (e instanceof Integer index) {
                b.append('[').append(index).append(']');
            } else {
                b.append(b.length() == 0 ? "" : ".").append(e);
            }
        }
        return b.toString();
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
