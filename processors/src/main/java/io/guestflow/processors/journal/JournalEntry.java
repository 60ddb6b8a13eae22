package io.guestflow.processors.journal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One entry of a guest's journal: its realtime timestamp and its data fields
 * in the order the journal returns them (a field may repeat).
 */
public record JournalEntry(long realtimeUsec, Map<String, List<String>> fields) {

    public static JournalEntry of(long realtimeUsec, List<Map.Entry<String, String>> pairs) {
        Map<String, List<String>> f = new LinkedHashMap<>();
        for (Map.Entry<String, String> p : pairs) {
            f.computeIfAbsent(p.getKey(), k -> new ArrayList<>(1)).add(p.getValue());
        }
        return new JournalEntry(realtimeUsec, f);
    }

    /** The first value of {@code field}, or null. */
    public String get(String field) {
        List<String> v = fields.get(field);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    public boolean has(String field, String value) {
        List<String> v = fields.get(field);
        return v != null && v.contains(value);
    }

    public Instant realtime() {
        return Instant.ofEpochSecond(realtimeUsec / 1_000_000, (realtimeUsec % 1_000_000) * 1_000);
    }

    public Integer priority() {
        String p = get("PRIORITY");
        return p != null && p.matches("[0-7]") ? Integer.parseInt(p) : null;
    }

    /** SYSLOG_IDENTIFIER, else _COMM: what journalctl -o short prints before the pid. */
    public String identifier() {
        String id = get("SYSLOG_IDENTIFIER");
        return id != null ? id : get("_COMM");
    }

    public String unit() {
        String u = get("_SYSTEMD_UNIT");
        return u != null ? u : get("UNIT");
    }

    /**
     * The entry as {@code journalctl -o json} writes it: field names as keys,
     * {@code __REALTIME_TIMESTAMP} as a decimal string, a repeated field as an
     * array; {@code keep} limits the data fields (empty = all).
     */
    public ObjectNode toJournalctlJson(ObjectMapper json, List<String> keep) {
        ObjectNode o = json.createObjectNode();
        o.put("__REALTIME_TIMESTAMP", Long.toString(realtimeUsec));
        for (Map.Entry<String, List<String>> f : fields.entrySet()) {
            if (!keep.isEmpty() && !keep.contains(f.getKey())) {
                continue;
            }
            if (f.getValue().size() == 1) {
                putValue(o, f.getKey(), f.getValue().get(0));
            } else {
                ArrayNode a = o.putArray(f.getKey());
                f.getValue().forEach(v -> {
                    if (isText(v)) {
                        a.add(v);
                    } else {
                        a.addObject().put("base64", base64(v));
                    }
                });
            }
        }
        return o;
    }

    private static void putValue(ObjectNode o, String key, String v) {
        if (isText(v)) {
            o.put(key, v);
        } else {
            o.putObject(key).put("base64", base64(v));
        }
    }

    /** Printable text: no control characters but tab and newline, no undecodable bytes. */
    static boolean isText(String v) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < 0x20 && c != '\t' && c != '\n' || c == 0x7f || c == '\uFFFD') {
                return false;
            }
        }
        return true;
    }

    private static String base64(String v) {
        return Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8));
    }
}
