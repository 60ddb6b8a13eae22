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
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns the bytes of a jobs-topic message into a {@link Job}, or says
 * exactly why it cannot: strict about shape and types (no coercion, no
 * unknown fields, no duplicate keys, no number wrapped into range), so a job
 * never runs with a value it did not mean. The engine's limits apply here:
 * the longest {@code timeoutSeconds} it allows, and whether it runs
 * {@code debug} jobs at all.
 */
public final class JobParser {
    /** Larger messages are not jobs; they are dead-lettered unread. */
    public static final int MAX_BYTES = 256 * 1024;
    public static final int MAX_DISKS = 16;
    public static final int DEFAULT_TIMEOUT_SECONDS = 1800;
    public static final int MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
    /** Results-topic keys of scan summaries start so; no job may take such an id. */
    public static final String RESERVED_ID_PREFIX = "scan-summary:";
    private static final Pattern JOB_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,127}");
    private static final Set<String> FIELDS =
            Set.of("jobId", "type", "disks", "output", "options", "timeoutSeconds", "labels", "debug", "steps", "rerun");

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
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw new JobRejectedException(jobId, "unknown field '" + f + "'");
            }
        }
        String type = text(jobId, root, "type", true);
        if (!registry.supports(type)) {
            throw new JobRejectedException(jobId, "unknown job type '" + type + "' (known: " + registry.supported() + ")");
        }
        JsonNode disksNode = root.get("disks");
        if (disksNode == null || !disksNode.isArray() || disksNode.isEmpty()) {
            throw new JobRejectedException(jobId, "disks must be a non-empty array (the disks of one guest)");
        }
        if (disksNode.size() > MAX_DISKS) {
            throw new JobRejectedException(jobId, "at most " + MAX_DISKS + " disks per job");
        }
        List<Job.Disk> disks = new ArrayList<>();
        for (int i = 0; i < disksNode.size(); i++) {
            JsonNode d = disksNode.get(i);
            String at = "disks[" + i + "]";
            if (!d.isObject()) {
                throw new JobRejectedException(jobId, at + " must be an object with a uri");
            }
            onlyFields(jobId, at, (ObjectNode) d, Set.of("uri", "format", "label"));
            Job.Disk disk = new Job.Disk(text(jobId, d, "uri", true, at), text(jobId, d, "format", false, at),
                    text(jobId, d, "label", false, at));
            // the drive constructor checks scheme, host, format name and label
            new Drive(Drive.parseUri(disk.uri()), disk.format(), true, disk.label());
            disks.add(disk);
        }
        Job.Output output = null;
        JsonNode out = root.get("output");
        if (out != null && !out.isNull()) {
            if (!out.isObject()) {
                throw new JobRejectedException(jobId, "output must be an object with a uri");
            }
            onlyFields(jobId, "output", (ObjectNode) out, Set.of("uri", "format", "overwrite"));
            JsonNode ow = out.get("overwrite");
            if (ow != null && !ow.isNull() && !ow.isBoolean()) {
                throw new JobRejectedException(jobId, "output.overwrite must be true or false");
            }
            output = new Job.Output(text(jobId, out, "uri", true, "output"), text(jobId, out, "format", false, "output"),
                    ow != null && ow.asBoolean());
            Drive o = new Drive(Drive.parseUri(output.uri()), output.format(), false, null);
            if (!o.isLocal()) {
                throw new JobRejectedException(jobId, "output must be a file:// path");
            }
        }
        ObjectNode options = json.createObjectNode();
        JsonNode opt = root.get("options");
        if (opt != null && !opt.isNull()) {
            if (!opt.isObject()) {
                throw new JobRejectedException(jobId, "options must be an object");
            }
            options = (ObjectNode) opt;
        }
        if (root.has("steps")) {
            throw new JobRejectedException(jobId, type.equals("pipeline")
                    ? "a pipeline's steps go in options.steps" : "steps are only for pipeline jobs");
        }
        int timeout = (int) Math.min(DEFAULT_TIMEOUT_SECONDS, maxTimeoutSeconds);
        JsonNode t = root.get("timeoutSeconds");
        if (t != null && !t.isNull()) {
            // canConvertToLong first: 18446744073709551621 must not wrap to 5
            if (!t.isIntegralNumber() || !t.canConvertToLong() || t.asLong() < 1 || t.asLong() > maxTimeoutSeconds) {
                throw new JobRejectedException(jobId, "timeoutSeconds must be an integer from 1 to " + maxTimeoutSeconds
                        + (maxTimeoutSeconds < MAX_TIMEOUT_SECONDS ? " (guestflow.engine.max-job-timeout-seconds)" : "")
                        + ", got " + abbreviate(t.toString()));
            }
            timeout = t.asInt();
        }
        Map<String, String> labels = new LinkedHashMap<>();
        JsonNode l = root.get("labels");
        if (l != null && !l.isNull()) {
            if (!l.isObject()) {
                throw new JobRejectedException(jobId, "labels must be an object of strings");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = l.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!e.getValue().isTextual()) {
                    throw new JobRejectedException(jobId, "label '" + e.getKey() + "' must be a string");
                }
                labels.put(e.getKey(), e.getValue().asText());
            }
        }
        boolean debug = false;
        JsonNode dbg = root.get("debug");
        if (dbg != null && !dbg.isNull()) {
            if (!dbg.isBoolean()) {
                throw new JobRejectedException(jobId, "debug must be true or false");
            }
            debug = dbg.asBoolean();
            if (debug && !debugAllowed) {
                // traces hold drive names and qemu's command line: an operator's switch, not a producer's
                throw new JobRejectedException(jobId, "debug jobs are refused here: their events carry the call trace"
                        + " and appliance messages (drive names, qemu's command line); the operator allows them with"
                        + " guestflow.engine.allow-debug-jobs=true");
            }
        }
        boolean rerun = false;
        JsonNode rr = root.get("rerun");
        if (rr != null && !rr.isNull()) {
            if (!rr.isBoolean()) {
                throw new JobRejectedException(jobId, "rerun must be true or false");
            }
            rerun = rr.asBoolean();
        }
        Job job = new Job(jobId, type, List.copyOf(disks), output, options, timeout, Map.copyOf(labels), debug, rerun);
        // each operation checks its own options (names and types) before anything runs
        registry.get(type).validate(job);
        return job;
    }

    /** Jackson quotes the offending token; a message that is not JSON may be anything, a secret too. */
    private static String withoutContent(String message) {
        return message == null ? "" : message.replaceAll("token '[^']*'", "token");
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private static void onlyFields(String jobId, String at, ObjectNode o, Set<String> allowed) {
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                throw new JobRejectedException(jobId, at + ": unknown field '" + f + "'");
            }
        }
    }

    private static String text(String jobId, JsonNode n, String field, boolean required) {
        return text(jobId, n, field, required, null);
    }

    private static String text(String jobId, JsonNode n, String field, boolean required, String at) {
        JsonNode v = n.get(field);
        String name = at == null ? field : at + "." + field;
        if (v == null || v.isNull()) {
            if (required) {
                throw new JobRejectedException(jobId, name + " is required");
            }
            return null;
        }
        if (!v.isTextual() || v.asText().isBlank()) {
            throw new JobRejectedException(jobId, name + " must be a non-empty string");
        }
        return v.asText();
    }
}
