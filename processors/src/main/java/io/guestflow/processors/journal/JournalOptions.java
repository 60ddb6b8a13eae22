package io.guestflow.processors.journal;

import com.fasterxml.jackson.databind.JsonNode;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobRejectedException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Options of a {@code journal} job: filters with journalctl's meaning.
 *
 * @param since       entries at or after this instant (journalctl -S)
 * @param until       entries at or before this instant (journalctl -U)
 * @param priority    the highest (least urgent) priority kept, 0 (emerg) to 7 (debug) (journalctl -p)
 * @param identifiers SYSLOG_IDENTIFIER values kept, any of them (journalctl -t)
 * @param units       systemd units kept, any of them (journalctl -u; a name without a suffix means .service)
 * @param bootId      the boot kept (journalctl -b ID)
 * @param grep        a regular expression MESSAGE must contain, case-insensitive when it has no upper case (journalctl -g)
 * @param maxEntries  stop after this many entries (the result says the stream was cut)
 * @param lines       only the last this-many matching entries (journalctl -n); kept in a bounded buffer
 * @param fields      the fields each record keeps; empty = all
 */
public record JournalOptions(Instant since, Instant until, Integer priority, List<String> identifiers,
                             List<String> units, String bootId, String grep, Long maxEntries, Integer lines,
                             List<String> fields) {

    /** Most entries {@code lines} may hold in memory. */
    public static final int MAX_LINES = 100_000;
    static final List<String> PRIORITY_NAMES = List.of("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug");
    private static final Set<String> NAMES = Set.of("since", "until", "priority", "identifiers", "units", "bootId",
            "grep", "maxEntries", "lines", "fields");
    private static final Pattern BOOT_ID = Pattern.compile("[0-9a-f]{32}");
    private static final Pattern FIELD = Pattern.compile("[A-Z0-9_]{1,64}");

    public static JournalOptions none() {
        return new JournalOptions(null, null, null, List.of(), List.of(), null, null, null, null, List.of());
    }

    /** Parses and checks {@code job}'s options; rejects with the reason. */
    public static JournalOptions of(Job job) {
        String id = job.jobId();
        Instant since = null;
        Instant until = null;
        Integer priority = null;
        List<String> identifiers = List.of();
        List<String> units = List.of();
        String bootId = null;
        String grep = null;
        Long maxEntries = null;
        Integer lines = null;
        List<String> fields = List.of();
        for (Iterator<String> it = job.options().fieldNames(); it.hasNext(); ) {
            String name = it.next();
            JsonNode v = job.options().get(name);
            switch (name) {
                case "since" -> since = instant(id, name, v);
                case "until" -> until = instant(id, name, v);
                case "priority" -> priority = priority(id, v);
                case "identifiers" -> identifiers = strings(id, name, v, null);
                case "units" -> units = strings(id, name, v, null).stream().map(JournalOptions::unitName).toList();
                case "bootId" -> {
                    String b = v.isTextual() ? v.asText().replace("-", "").toLowerCase(Locale.ROOT) : "";
                    if (!BOOT_ID.matcher(b).matches()) {
                        throw new JobRejectedException(id, "option 'bootId' must be a boot ID (32 hex digits), got " + v);
                    }
                    bootId = b;
                }
                case "grep" -> {
                    if (!v.isTextual() || v.asText().isEmpty()) {
                        throw new JobRejectedException(id, "option 'grep' must be a non-empty regular expression");
                    }
                    try {
                        Pattern.compile(v.asText());
                    } catch (PatternSyntaxException e) {
                        throw new JobRejectedException(id, "option 'grep' is not a valid regular expression: "
                                + e.getDescription());
                    }
                    grep = v.asText();
                }
                case "maxEntries" -> {
                    if (!v.canConvertToLong() || !v.isIntegralNumber() || v.asLong() < 1) {
                        throw new JobRejectedException(id, "option 'maxEntries' must be a positive integer");
                    }
                    maxEntries = v.asLong();
                }
                case "lines" -> {
                    if (!v.isInt() || v.asInt() < 1 || v.asInt() > MAX_LINES) {
                        throw new JobRejectedException(id, "option 'lines' must be an integer from 1 to " + MAX_LINES);
                    }
                    lines = v.asInt();
                }
                case "fields" -> fields = strings(id, name, v, FIELD);
                default -> throw JobRejectedException.unknownOption(id, "journal", name, NAMES);
            }
        }
        if (since != null && until != null && since.isAfter(until)) {
            throw new JobRejectedException(id, "option 'since' (" + since + ") is after 'until' (" + until + ")");
        }
        if (job.output() != null) {
            throw new JobRejectedException(id, "a journal job publishes entries to the journal topic; it takes no output");
        }
        return new JournalOptions(since, until, priority, identifiers, units, bootId, grep, maxEntries, lines, fields);
    }

    /** journalctl -u's rule: a unit name without a type suffix is a service. */
    public static String unitName(String u) {
        return u.contains(".") ? u : u + ".service";
    }

    /** 0-7 or a name (emerg ... debug), as journalctl -p takes them. */
    public static int priorityLevel(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.matches("[0-7]")) {
            return Integer.parseInt(t);
        }
        int i = PRIORITY_NAMES.indexOf(t.equals("warn") ? "warning" : t.equals("error") ? "err" : t);
        if (i < 0) {
            throw new IllegalArgumentException("priority must be 0-7 or one of " + PRIORITY_NAMES + ", got '" + s + "'");
        }
        return i;
    }

    private static Integer priority(String id, JsonNode v) {
        try {
            if (v.isInt()) {
                return priorityLevel(Integer.toString(v.asInt()));
            }
            if (v.isTextual()) {
                return priorityLevel(v.asText());
            }
        } catch (IllegalArgumentException e) {
            throw new JobRejectedException(id, "option 'priority': " + e.getMessage());
        }
        throw new JobRejectedException(id, "option 'priority' must be 0-7 or one of " + PRIORITY_NAMES);
    }

    private static Instant instant(String id, String name, JsonNode v) {
        if (!v.isTextual()) {
            throw new JobRejectedException(id, "option '" + name + "' must be an ISO-8601 timestamp such as 2026-11-20T10:00:00Z");
        }
        try {
            return Instant.parse(v.asText());
        } catch (DateTimeParseException e) {
            try {
                return java.time.OffsetDateTime.parse(v.asText()).toInstant();
            } catch (DateTimeParseException e2) {
                throw new JobRejectedException(id, "option '" + name + "' is not an ISO-8601 timestamp with a zone: " + v.asText());
            }
        }
    }

    private static List<String> strings(String id, String name, JsonNode v, Pattern each) {
        if (!v.isArray() || v.isEmpty()) {
            throw new JobRejectedException(id, "option '" + name + "' must be a non-empty array of strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual() || e.asText().isEmpty() || each != null && !each.matcher(e.asText()).matches()) {
                throw new JobRejectedException(id, "option '" + name + "': " + e + " is not "
                        + (each == null ? "a non-empty string" : "a journal field name (A-Z, 0-9, _)"));
            }
            out.add(e.asText());
        }
        return List.copyOf(out);
    }
}
