package io.guestflow.processors.journal;

import java.util.regex.Pattern;

/** journalctl's matching of -S, -U, -p, -t, -u, -b and -g, applied to one entry. */
public final class JournalFilter {
    /** MESSAGE_ID of systemd-coredump's entries, which journalctl -u also shows for the unit. */
    private static final String COREDUMP_MESSAGE_ID = "fc2e22bc6ee647b6b90729ab34a250b1";

    private final JournalOptions o;
    private final Pattern grep;

    public JournalFilter(JournalOptions options) {
        this.o = options;
        // journalctl's smart case: a pattern without upper-case letters matches case-insensitively
        this.grep = options.grep() == null ? null : options.grep().chars().anyMatch(Character::isUpperCase)
                ? Pattern.compile(options.grep()) : Pattern.compile(options.grep(), Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
    }

    /** Whether only the realtime timestamp is filtered on, so the fields need not be read for a rejected entry. */
    public boolean rejectsByTime(long realtimeUsec) {
        return o.since() != null && realtimeUsec < micros(o.since()) || o.until() != null && realtimeUsec > micros(o.until());
    }

    public boolean matches(JournalEntry e) {
        if (rejectsByTime(e.realtimeUsec())) {
            return false;
        }
        if (o.priority() != null) {
            Integer p = e.priority();
            if (p == null || p > o.priority()) {
                return false;
            }
        }
        if (!o.identifiers().isEmpty() && o.identifiers().stream().noneMatch(id -> e.has("SYSLOG_IDENTIFIER", id))) {
            return false;
        }
        if (!o.units().isEmpty() && o.units().stream().noneMatch(u -> ofUnit(e, u))) {
            return false;
        }
        if (o.bootId() != null && !e.has("_BOOT_ID", o.bootId())) {
            return false;
        }
        return grep == null || matchesGrep(e.get("MESSAGE"));
    }

    /** -g on a text line (the classic-log fallback). */
    public boolean matchesGrep(String message) {
        return grep == null || message != null && grep.matcher(message).find();
    }

    /** journalctl -u: the unit's own messages, its coredumps, PID 1's messages about it, root daemons' about it. */
    private static boolean ofUnit(JournalEntry e, String unit) {
        return e.has("_SYSTEMD_UNIT", unit)
                || e.has("MESSAGE_ID", COREDUMP_MESSAGE_ID) && e.has("_UID", "0") && e.has("COREDUMP_UNIT", unit)
                || e.has("_PID", "1") && e.has("UNIT", unit)
                || e.has("_UID", "0") && e.has("OBJECT_SYSTEMD_UNIT", unit);
    }

    static long micros(java.time.Instant t) {
        return t.getEpochSecond() * 1_000_000 + t.getNano() / 1_000;
    }
}
