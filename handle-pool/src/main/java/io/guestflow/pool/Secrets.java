package io.guestflow.pool;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one redaction of text that leaves the engine (results, events, logs,
 * dead-letter reasons, exception messages): a URI's userinfo
 * ({@code user:password@}, whatever characters the password holds), query
 * strings ({@code ?token=...}, also where a libguestfs trace shows a path
 * without its scheme), and {@code password=}/{@code secret=}/{@code token=}
 * values. It errs on the side of masking too much: a URI whose path holds an
 * {@code @} loses the part before it.
 */
public final class Secrets {
    public static final String MASK = "***";

    /** scheme://  then everything up to the last '@' of the token: userinfo, '@' and '/' in passwords included. */
    private static final Pattern USERINFO = Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*://)[^\\s\"'<>@]*(?:@[^\\s\"'<>@]*)*@");
    /** A query string: '?' then key=value pairs. */
    private static final Pattern QUERY = Pattern.compile("\\?[^\\s\"'<>?#=&]*=[^\\s\"'<>#]*");
    /** A URL's query of any shape. */
    private static final Pattern URL_QUERY = Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*://[^\\s\"'<>?]*)\\?[^\\s\"'<>#]*");
    private static final Pattern KEYED = Pattern.compile(
            "(?i)((?:password|passwd|secret|token|api[_-]?key)[\"']?\\s*[=:]\\s*[\"']?)[^\\s\"'&,;}]+");

    private Secrets() {
    }

    /** {@code text} with every secret it may hold masked; null stays null. */
    public static String redact(String text) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        String s = text;
        if (s.indexOf('@') >= 0) {
            s = USERINFO.matcher(s).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + MASK + "@"));
        }
        if (s.indexOf('?') >= 0) {
            s = URL_QUERY.matcher(s).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + "?" + MASK));
            s = QUERY.matcher(s).replaceAll(Matcher.quoteReplacement("?" + MASK));
        }
        s = KEYED.matcher(s).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + MASK));
        return s;
    }

    /** Redacts every text value of a JSON tree in place (results, event data); returns it. */
    public static com.fasterxml.jackson.databind.JsonNode redact(com.fasterxml.jackson.databind.JsonNode node) {
        if (node instanceof com.fasterxml.jackson.databind.node.ObjectNode o) {
            java.util.List<String> names = new java.util.ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                com.fasterxml.jackson.databind.JsonNode v = o.get(name);
                if (v.isTextual()) {
                    String r = redact(v.asText());
                    if (!r.equals(v.asText())) {
                        o.put(name, r);
                    }
                } else {
                    redact(v);
                }
            }
        } else if (node instanceof com.fasterxml.jackson.databind.node.ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                com.fasterxml.jackson.databind.JsonNode v = a.get(i);
                if (v.isTextual()) {
                    a.set(i, com.fasterxml.jackson.databind.node.TextNode.valueOf(redact(v.asText())));
                } else {
                    redact(v);
                }
            }
        }
        return node;
    }

    /** Whether a URI carries a password in its userinfo ({@code user:password@host}). */
    public static boolean hasPassword(java.net.URI uri) {
        String ui = uri.getRawUserInfo();
        return ui != null && ui.contains(":");
    }
}
