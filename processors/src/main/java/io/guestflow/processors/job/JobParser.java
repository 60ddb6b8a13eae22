package io.guestflow.processors.job;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.pool.Drive;
import io.guestflow.pool.GuestflowException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns the bytes of a jobs-topic message into a {@link Job}, or says
 * exactly why it cannot: strict about shape and types (no coercion, no
 * unknown fields, no duplicate keys, no number wrapped into range), so a job
 * never runs with a value it did not mean. The shape is
 * {@code config/schemas/job.schema.json} ({@link JobSchema}); what a schema
 * cannot say is checked here: drives (schemes, hosts, passwords), a local
 * output, the reserved jobId prefix. The engine's limits apply here:
 * the longest {@code timeoutSeconds} it allows, and whether it runs
 * {@code debug} jobs at all.
 */
public final class JobParser {
    /** Larger messages are not jobs; they are dead-lettered unread. */
    public static final int MAX_BYTES = 256 * 1024;
    /** As job.schema.json says (disks.maxItems). */
    public static final int MAX_DISKS = 16;
    public static final int DEFAULT_TIMEOUT_SECONDS = 1800;
    public static final int MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
    /** Results-topic keys of scan summaries start so; no job may take such an id. */
    public static final String RESERVED_ID_PREFIX = "scan-summary:";
    /** As job.schema.json says (jobId.pattern); checked first, so that a rejection can name the job. */
    static final Pattern JOB_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,127}");

    private final ObjectMapper json = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            // {"jobId":"a","jobId":"b"} is not a job: the last key must not silently win
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();
    private final OperationRegistry registry;
    private final long maxTimeoutSeconds;
    private final boolean debugAllowed;

    /** A parser with the widest limits: timeouts up to {@link #MAX_TIMEOUT_SECONDS}, debug jobs allowed. */
    public JobParser(OperationRegistry registry) {
        this(registry, MAX_TIMEOUT_SECONDS, true);
    }

    /**
     * @param maxTimeoutSeconds the engine's {@code max-job-timeout-seconds}: longer timeouts are rejected
     * @param debugAllowed      the engine's {@code allow-debug-jobs}: off, jobs with {@code "debug": true} are rejected
     */
    public JobParser(OperationRegistry registry, long maxTimeoutSeconds, boolean debugAllowed) {
        if (maxTimeoutSeconds < 1) {
            throw new IllegalArgumentException("the longest job timeout must be at least 1 second");
        }
        this.registry = registry;
        this.maxTimeoutSeconds = Math.min(maxTimeoutSeconds, MAX_TIMEOUT_SECONDS);
        this.debugAllowed = debugAllowed;
        json.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build());
    }

    /**
     * The job, or a {@link JobRejectedException} saying why not; never any
     * other exception, whatever the bytes (a consumer must never be stopped
     * by a message).
     */
    public Job parse(byte[] raw) {
        try {
            return parseOrThrow(raw);
        } catch (JobRejectedException e) {
            throw e;
        } catch (RuntimeException e) {
            // a shape nobody foresaw: still a rejection with the reason, never a stuck consumer
            throw new JobRejectedException(null, "invalid message: " + e);
        }
    }

    private Job parseOrThrow(byte[] raw) {
        if (raw == null || raw.length == 0) {
            throw new JobRejectedException(null, "empty message");
        }
        if (raw.length > MAX_BYTES) {
            throw new JobRejectedException(null, "message of " + raw.length + " bytes exceeds the limit of " + MAX_BYTES);
        }
        JsonNode root;
        try {
            root = json.readTree(raw);
        } catch (JsonProcessingException e) {
            if (e.getOriginalMessage() != null && e.getOriginalMessage().startsWith("Duplicate field")) {
                throw new JobRejectedException(null, "not a job: " + e.getOriginalMessage()
                        + "; a key may appear once per object");
            }
            throw new JobRejectedException(null, "not JSON: " + withoutContent(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new JobRejectedException(null, "unreadable message: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new JobRejectedException(null, "a job must be a JSON object");
        }
        JsonNode idNode = root.get("jobId");
        if (idNode == null || !idNode.isTextual() || !JOB_ID.matcher(idNode.asText()).matches()) {
            throw new JobRejectedException(null,
                    "jobId must be a string of 1-128 characters [A-Za-z0-9._:-] starting with a letter or digit");
        }
        String jobId = idNode.asText();
        if (jobId.startsWith(RESERVED_ID_PREFIX)) {
            // the results topic keys scan summaries so; a job result under such a key would be taken for one
            throw new JobRejectedException(null, "jobId must not start with '" + RESERVED_ID_PREFIX
                    + "': the results topic keys scan summaries so");
        }
        try {
            return parseFields(jobId, (ObjectNode) root);
        } catch (JobRejectedException e) {
            throw e;
        } catch (GuestflowException e) {
            throw new JobRejectedException(jobId, e.getMessage());
        } catch (RuntimeException e) {
            throw new JobRejectedException(jobId, "invalid job: " + e);
        }
    }

    private Job parseFields(String jobId, ObjectNode root) {
        if (root.has("steps")) {
            // the schema would only call it an unknown field: say where a pipeline's steps go
            throw new JobRejectedException(jobId, "pipeline".equals(root.path("type").asText())
                    ? "a pipeline's steps go in options.steps" : "steps are only for pipeline jobs");
        }
        // a key given inline is refused in words that say how keys are given, and its value is never repeated
        JobKeys.refuseInline(jobId, root);
        List<JobSchema.Violation> violations = JobSchema.check(root);
        // inside options the operation speaks first, in its own words (below)
        violations.stream().filter(v -> !v.inOptions()).findFirst().ifPresent(v -> {
            throw rejection(jobId, root, v);
        });
        String type = type(jobId, root);
        Job job = new Job(jobId, type, disks(root), output(jobId, root), options(root), timeout(jobId, root),
                labels(root), debug(jobId, root), root.path("rerun").asBoolean(false), JobKeys.parse(jobId, root));
        // keys on a job type that takes none (resize, info): REJECTED with why
        JobKeys.checkOperation(registry.get(type), job);
        // each operation checks its own options (names and types) before anything runs
        registry.get(type).validate(job);
        // what an operation let through inside its options, the schema still refuses: it is the contract
        violations.stream().findFirst().ifPresent(v -> {
            throw rejection(jobId, root, v);
        });
        return job;
    }

    private JobRejectedException rejection(String jobId, JsonNode root, JobSchema.Violation v) {
        // the schema knows the widest timeout only; the rejection names this engine's
        return new JobRejectedException(jobId,
                v.field().equals("timeoutSeconds") ? timeoutRule(root.get("timeoutSeconds")) : v.reason());
    }

    private String type(String jobId, JsonNode root) {
        String type = root.get("type").asText();
        if (!registry.supports(type)) {
            throw new JobRejectedException(jobId, "unknown job type '" + type + "' (known: " + registry.supported() + ")");
        }
        return type;
    }

    private static List<Job.Disk> disks(JsonNode root) {
        List<Job.Disk> disks = new ArrayList<>();
        for (JsonNode d : root.get("disks")) {
            Job.Disk disk = new Job.Disk(d.get("uri").asText(), text(d, "format"), text(d, "label"));
            // the drive constructor checks scheme, host, format name and label
            new Drive(Drive.parseUri(disk.uri()), disk.format(), true, disk.label());
            disks.add(disk);
        }
        return List.copyOf(disks);
    }

    private static Job.Output output(String jobId, JsonNode root) {
        JsonNode out = root.get("output");
        if (out == null || out.isNull()) {
            return null;
        }
        Job.Output output = new Job.Output(out.get("uri").asText(), text(out, "format"),
                out.path("overwrite").asBoolean(false));
        if (!new Drive(Drive.parseUri(output.uri()), output.format(), false, null).isLocal()) {
            throw new JobRejectedException(jobId, "output must be a file:// path");
        }
        return output;
    }

    private ObjectNode options(JsonNode root) {
        return root.get("options") instanceof ObjectNode o ? o : json.createObjectNode();
    }

    private int timeout(String jobId, JsonNode root) {
        JsonNode t = root.get("timeoutSeconds");
        if (t == null || t.isNull()) {
            return (int) Math.min(DEFAULT_TIMEOUT_SECONDS, maxTimeoutSeconds);
        }
        // canConvertToLong first: 18446744073709551621 must not wrap to 5; 1e3 and 60.0 are no integers here
        if (!t.isIntegralNumber() || !t.canConvertToLong() || t.asLong() < 1 || t.asLong() > maxTimeoutSeconds) {
            throw new JobRejectedException(jobId, timeoutRule(t));
        }
        return t.asInt();
    }

    private String timeoutRule(JsonNode got) {
        return "timeoutSeconds must be an integer from 1 to " + maxTimeoutSeconds
                + (maxTimeoutSeconds < MAX_TIMEOUT_SECONDS ? " (guestflow.engine.max-job-timeout-seconds)" : "")
                + ", got " + abbreviate(got.toString());
    }

    private static Map<String, String> labels(JsonNode root) {
        Map<String, String> labels = new LinkedHashMap<>();
        root.path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
        return Map.copyOf(labels);
    }

    private boolean debug(String jobId, JsonNode root) {
        boolean debug = root.path("debug").asBoolean(false);
        if (debug && !debugAllowed) {
            // traces hold drive names and qemu's command line: an operator's switch, not a producer's
            throw new JobRejectedException(jobId, "debug jobs are refused here: their events carry the call trace"
                    + " and appliance messages (drive names, qemu's command line); the operator allows them with"
                    + " guestflow.engine.allow-debug-jobs=true");
        }
        return debug;
    }

    /** Jackson quotes the offending token; a message that is not JSON may be anything, a secret too. */
    private static String withoutContent(String message) {
        return message == null ? "" : message.replaceAll("token '[^']*'", "token");
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    /** An optional text field: null when absent or null (the schema has checked its type). */
    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
