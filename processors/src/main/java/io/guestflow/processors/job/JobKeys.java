package io.guestflow.processors.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.guestflow.pool.LuksKey;
import io.guestflow.pool.Secrets;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A job's {@code keys}: LUKS keys by reference only. A job names a file (under
 * the engine's secrets dir) per device selector; a job that carries a key
 * itself is refused, and its value is never repeated anywhere: not in the
 * reason, the result, events, logs, nor the dead-letter copy of a message
 * ({@link #redactInline(byte[])}).
 */
public final class JobKeys {
    /** As job.schema.json says (keys.maxItems). */
    public static final int MAX_KEYS = 32;
    /** As job.schema.json says (keys[].file.maxLength). */
    public static final int MAX_FILE_NAME = 1024;
    /** What a refusal of a key given inline says: how keys are given instead. */
    public static final String BY_FILE = "keys are given by file, never inline: \"keys\": [{\"device\": \"/dev/sda2\""
            + " | \"<LUKS UUID>\" | \"all\", \"file\": \"<path under guestflow.engine.secrets-dir>\"}]";

    /** Top-level fields a producer might put a key in; the schema would only call them unknown. */
    private static final Set<String> INLINE_FIELDS = Set.of("key", "passphrase", "password", "luksKey", "luksKeys",
            "secret");
    private static final Set<String> ENTRY_FIELDS = Set.of("device", "file");
    /** libguestfs device names: /dev/sda2, /dev/vda, /dev/nvme0n1p3, /dev/md127, /dev/VG/LV, /dev/mapper/NAME, /dev/disk/guestfs/LABEL. */
    private static final Pattern DEVICE = Pattern.compile(
            "/dev/(?:[a-z][a-z0-9]*|[A-Za-z0-9+_.-]+/[A-Za-z0-9+_.-]+|disk/guestfs/[A-Za-z]{1,20}[0-9]*)");
    private static final Pattern UUID = Pattern.compile(
            "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private JobKeys() {
    }

    /**
     * Refuses a job that carries a key instead of naming a file: a top-level
     * {@code key}/{@code passphrase}/..., a {@code keys} that is not an array
     * of objects, an entry with any field besides {@code device} and
     * {@code file}. Checked before the schema, whose words would not say how
     * keys are given. The reason names the field, never its value.
     */
    static void refuseInline(String jobId, JsonNode root) {
        for (String f : INLINE_FIELDS) {
            if (root.has(f)) {
                throw new JobRejectedException(jobId, "'" + f + "': " + BY_FILE);
            }
        }
        JsonNode keys = root.get("keys");
        if (keys == null || keys.isNull()) {
            return;
        }
        if (!keys.isArray()) {
            throw new JobRejectedException(jobId, "keys must be an array of {device, file}: " + BY_FILE);
        }
        for (int i = 0; i < keys.size(); i++) {
            JsonNode e = keys.get(i);
            if (!e.isObject()) {
                throw new JobRejectedException(jobId, "keys[" + i + "] must be an object {device, file}: " + BY_FILE);
            }
            Iterator<String> names = e.fieldNames();
            while (names.hasNext()) {
                String n = names.next();
                if (!ENTRY_FIELDS.contains(n)) {
                    throw new JobRejectedException(jobId, "keys[" + i + "]: " + fieldName(n)
                            + " is not allowed: " + BY_FILE);
                }
                if (!e.get(n).isTextual()) {
                    throw new JobRejectedException(jobId, "keys[" + i + "]." + n + " must be a string ("
                            + (n.equals("file") ? "a path" : "a device selector") + "): " + BY_FILE);
                }
            }
        }
    }

    /** The keys of a job the schema has accepted: selectors checked, none twice. */
    static List<Job.Key> parse(String jobId, JsonNode root) {
        JsonNode keys = root.get("keys");
        if (keys == null || keys.isNull()) {
            return List.of();
        }
        List<Job.Key> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < keys.size(); i++) {
            JsonNode e = keys.get(i);
            Job.Key k = new Job.Key(e.get("device").asText(), e.get("file").asText());
            String why = selectorProblem(k.device());
            if (why != null) {
                throw new JobRejectedException(jobId, "keys[" + i + "].device: " + why);
            }
            if (!seen.add(selectorIdentity(k.device()))) {
                throw new JobRejectedException(jobId, "keys[" + i + "].device: '" + k.device()
                        + "' has a key already (one key per selector)");
            }
            if (k.file().isBlank() || k.file().indexOf('\0') >= 0) {
                throw new JobRejectedException(jobId, "keys[" + i + "].file must be a path (under"
                        + " guestflow.engine.secrets-dir)");
            }
            out.add(k);
        }
        return List.copyOf(out);
    }

    /**
     * Why {@code selector} is not one the virt tools' {@code --key} takes (a
     * libguestfs device name, a LUKS UUID or {@code all}); null when it is.
     * The value is the selector, never a secret, but is shortened all the same.
     */
    public static String selectorProblem(String selector) {
        if (selector == null || selector.isEmpty()) {
            return "a device selector is required (/dev/sda2, /dev/VG/LV, a LUKS UUID, or all)";
        }
        if (selector.equals(LuksKey.ALL) || UUID.matcher(selector).matches()) {
            return null;
        }
        if (DEVICE.matcher(selector).matches() && !selector.contains("/./") && !selector.contains("/../")
                && !selector.endsWith("/.") && !selector.endsWith("/..")) {
            return null;
        }
        return "'" + abbreviate(selector) + "' is not a device selector: a libguestfs device name (/dev/sda2,"
                + " /dev/VG/LV), a LUKS UUID, or all";
    }

    /** UUIDs compare without case, as {@link LuksKey#appliesTo} does. */
    private static String selectorIdentity(String selector) {
        return UUID.matcher(selector).matches() ? selector.toLowerCase(Locale.ROOT) : selector;
    }

    /**
     * Refuses keys on a job whose operation takes none
     * ({@link JobOperation#refusesKeys()}): REJECTED before anything runs.
     */
    public static void checkOperation(JobOperation op, Job job) {
        if (job.keys().isEmpty()) {
            return;
        }
        String why = op.refusesKeys();
        if (why != null) {
            throw new JobRejectedException(job.jobId(), "keys: " + why);
        }
    }

    /**
     * The dead-letter copy of a message that may carry a key inline: the
     * message itself when it carries none, its JSON with every inline key
     * value replaced by {@value Secrets#MASK} when it does, and nothing (an
     * empty value) when it is no JSON but names a key or passphrase field.
     *
     * @return the bytes to republish; {@code raw} itself when nothing was masked
     */
    public static byte[] redactInline(byte[] raw) {
        if (raw == null || raw.length == 0) {
            return raw;
        }
        JsonNode root;
        try {
            root = JSON.readTree(raw);
        } catch (Exception e) {
            root = null;
        }
        if (root == null) {
            String text = new String(raw, StandardCharsets.UTF_8).toLowerCase(Locale.ROOT);
            boolean mayHoldKey = text.contains("\"key") || text.contains("passphrase") || text.contains("password")
                    || text.contains("secret") || text.contains("luks");
            return mayHoldKey ? new byte[0] : raw;
        }
        if (!mask(root)) {
            return raw;
        }
        try {
            return JSON.writeValueAsBytes(root);
        } catch (Exception e) {
            return new byte[0];
        }
    }

    /** Masks what {@link #refuseInline} refuses, in every object of the tree; whether anything was masked. */
    private static boolean mask(JsonNode node) {
        boolean masked = false;
        if (node instanceof ObjectNode o) {
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            for (String n : names) {
                JsonNode v = o.get(n);
                if (INLINE_FIELDS.contains(n)) {
                    o.set(n, TextNode.valueOf(Secrets.MASK));
                    masked = true;
                } else if (n.equals("keys")) {
                    masked |= maskKeys(o, v);
                } else {
                    masked |= mask(v);
                }
            }
        } else if (node instanceof ArrayNode a) {
            for (JsonNode v : a) {
                masked |= mask(v);
            }
        }
        return masked;
    }

    private static boolean maskKeys(ObjectNode parent, JsonNode keys) {
        if (keys.isNull()) {
            return false;
        }
        if (!keys.isArray()) {
            parent.set("keys", TextNode.valueOf(Secrets.MASK));
            return true;
        }
        boolean masked = false;
        ArrayNode a = (ArrayNode) keys;
        for (int i = 0; i < a.size(); i++) {
            JsonNode e = a.get(i);
            if (!(e instanceof ObjectNode entry) || !byReference(entry)) {
                // the whole entry: a field's name may be the secret as well as its value
                a.set(i, TextNode.valueOf(Secrets.MASK));
                masked = true;
            }
        }
        return masked;
    }

    private static boolean byReference(ObjectNode entry) {
        Iterator<Map.Entry<String, JsonNode>> fields = entry.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            if (!ENTRY_FIELDS.contains(f.getKey()) || !f.getValue().isTextual()) {
                return false;
            }
        }
        return true;
    }

    /** A field name is shown in a reason only when it is one of the usual names: any other name may be the key itself. */
    private static String fieldName(String n) {
        return INLINE_FIELDS.contains(n) ? "field '" + n + "'" : "a field other than device and file";
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
