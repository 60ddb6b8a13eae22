package io.guestflow.processors.journal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import java.io.BufferedReader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams a guest's journal, entry by entry, through the filters to a
 * {@link JournalSink}: inspect, mount every OS read-only by its inspected
 * mountpoints, open {@code /var/log/journal} with the libguestfs journal API
 * and read in journal order. Memory stays bounded: one entry at a time, or
 * the last {@code lines} entries. Guests without a persistent journal give
 * their classic text logs line by line instead.
 *
 * <p>What the libguestfs journal API (1.48) gives per entry is the realtime
 * timestamp and the data fields; an entry's cursor and monotonic timestamp
 * are not exposed, so records carry the realtime timestamp, the boot id
 * ({@code _BOOT_ID}) and a sequence number instead.
 */
public final class JournalExport {
    private static final Logger LOG = LoggerFactory.getLogger(JournalExport.class);
    static final String JOURNAL_DIR = "/var/log/journal";
    /** The classic text logs, in the order they are tried: RHEL/Fedora/SUSE, then Debian/Ubuntu. */
    static final List<String> TEXT_LOGS = List.of("/var/log/messages", "/var/log/syslog");
    /** Longest text line kept whole; longer lines are cut (a binary file is not a log). */
    private static final int MAX_LINE_CHARS = 64 * 1024;

    private final String jobId;
    private final JournalOptions options;
    private final JournalFilter filter;
    private final JournalSink sink;
    private final ObjectMapper json;
    private long seq;
    private boolean truncated;
    private String first;
    private String last;

    public JournalExport(String jobId, JournalOptions options, JournalSink sink, ObjectMapper json) {
        this.jobId = jobId;
        this.options = options;
        this.filter = new JournalFilter(options);
        this.sink = sink;
        this.json = json;
    }

    /**
     * Every operating system on the attached disks, in inspection's order:
     * {@code roots} from an {@code inspect_os} of these disks as they are now.
     */
    public JournalReport run(GuestFS g, String[] roots) throws Exception {
        List<JournalReport.Guest> guests = new ArrayList<>();
        long scanned = 0;
        for (String root : roots) {
            if (truncated) {
                break;
            }
            JournalReport.Guest guest = exportRoot(g, root);
            guests.add(guest);
            scanned += guest.scanned();
        }
        sink.complete();
        String reason = null;
        if (roots.length == 0) {
            reason = "no operating system found on the disks";
        } else if (seq == 0) {
            reason = guests.stream().allMatch(x -> x.source().equals("none"))
                    ? "the guest has neither a persistent journal (" + JOURNAL_DIR + ") nor " + String.join(" or ", TEXT_LOGS)
                    : "no entry passed the filters";
        }
        return new JournalReport(seq, scanned, first, last, truncated, reason, guests);
    }

    /** One OS: its journal, else its text logs, else nothing. */
    public JournalReport.Guest exportRoot(GuestFS g, String root) throws Exception {
        mountReadOnly(g, root);
        try {
            String product = g.inspect_get_product_name(root);
            String hostname = g.inspect_get_hostname(root);
            if (hasJournalFiles(g)) {
                long before = seq;
                long scanned = readJournal(g, root);
                return new JournalReport.Guest(root, product, hostname, "journal", List.of(JOURNAL_DIR), seq - before,
                        scanned, null);
            }
            List<String> texts = new ArrayList<>();
            for (String p : TEXT_LOGS) {
                if (g.is_file(p, Map.of("followsymlinks", true))) {
                    texts.add(p);
                }
            }
            if (texts.isEmpty()) {
                return new JournalReport.Guest(root, product, hostname, "none", List.of(), 0, 0, null);
            }
            long before = seq;
            long scanned = 0;
            for (String p : texts) {
                scanned += readText(g, root, p);
            }
            return new JournalReport.Guest(root, product, hostname, "text", texts, seq - before, scanned,
                    textNotes());
        } finally {
            g.umount_all();
        }
    }

    private static void mountReadOnly(GuestFS g, String root) throws LibGuestFSException {
        List<Map.Entry<String, String>> mps = new ArrayList<>(g.inspect_get_mountpoints(root).entrySet());
        mps.sort(Comparator.comparingInt((Map.Entry<String, String> e) -> e.getKey().length())
                .thenComparing(Map.Entry::getKey));
        for (Map.Entry<String, String> mp : mps) {
            try {
                g.mount_ro(mp.getValue(), mp.getKey());
            } catch (LibGuestFSException e) {
                LOG.warn("journal: cannot mount {} on {}: {}", mp.getValue(), mp.getKey(), e.getMessage());
            }
        }
    }

    /** A journal file directly in /var/log/journal or in a machine-id directory below it. */
    private static boolean hasJournalFiles(GuestFS g) throws LibGuestFSException {
        if (!g.is_dir(JOURNAL_DIR)) {
            return false;
        }
        return g.glob_expand(JOURNAL_DIR + "/*.journal").length > 0
                || g.glob_expand(JOURNAL_DIR + "/*/*.journal").length > 0;
    }

    private long readJournal(GuestFS g, String root) throws Exception {
        try (GuestJournal journal = GuestJournal.open(g, JOURNAL_DIR, filter)) {
            exportEntries(root, journal);
            return journal.scanned();
        }
    }

    /**
     * The filters, {@code lines} and {@code maxEntries} over entries of
     * {@code root} from any source, published in order.
     */
    public void exportEntries(String root, Iterator<JournalEntry> entries) throws Exception {
        Deque<ObjectNode> tail = newTail();
        while (!truncated && entries.hasNext()) {
            JournalEntry e = entries.next();
            if (filter.matches(e)) {
                offer(tail, entryRecord(root, e));
            }
        }
        drain(tail);
    }

    private long readText(GuestFS g, String root, String path) throws Exception {
        Path local = Files.createTempFile("guestflow-journal-", ".log");
        long scanned = 0;
        try {
            g.download(path, local.toString());
            Deque<ObjectNode> tail = newTail();
            var decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE);
            try (BufferedReader in = new BufferedReader(new java.io.InputStreamReader(Files.newInputStream(local), decoder))) {
                String line;
                while (!truncated && (line = in.readLine()) != null) {
                    scanned++;
                    if (line.length() > MAX_LINE_CHARS) {
                        line = line.substring(0, MAX_LINE_CHARS);
                    }
                    if (!filter.matchesGrep(line)) {
                        continue;
                    }
                    offer(tail, textRecord(root, path, scanned, line));
                }
            }
            drain(tail);
        } finally {
            Files.deleteIfExists(local);
        }
        return scanned;
    }

    private List<String> textNotes() {
        List<String> notes = new ArrayList<>();
        notes.add("no persistent journal: classic text log lines, one record each");
        List<String> ignored = new ArrayList<>();
        if (options.since() != null || options.until() != null) {
            ignored.add("since/until");
        }
        if (options.priority() != null) {
            ignored.add("priority");
        }
        if (!options.identifiers().isEmpty()) {
            ignored.add("identifiers");
        }
        if (!options.units().isEmpty()) {
            ignored.add("units");
        }
        if (options.bootId() != null) {
            ignored.add("bootId");
        }
        if (!ignored.isEmpty()) {
            notes.add("filters that need journal fields did not apply to text lines: " + String.join(", ", ignored));
        }
        return notes;
    }

    /** The buffer of the last {@code lines} records, or null when every record goes out at once. */
    private Deque<ObjectNode> newTail() {
        return options.lines() == null ? null : new ArrayDeque<>(options.lines());
    }

    /** Publishes {@code record} now, or keeps it among the last {@code lines}. */
    private void offer(Deque<ObjectNode> tail, ObjectNode record) throws Exception {
        if (tail == null) {
            emit(record);
            return;
        }
        if (tail.size() == options.lines()) {
            tail.removeFirst();
        }
        tail.addLast(record);
    }

    /** Publishes what {@link #offer} kept, until maxEntries cuts the stream. */
    private void drain(Deque<ObjectNode> tail) throws Exception {
        if (tail != null) {
            for (ObjectNode r : tail) {
                if (truncated) {
                    break;
                }
                emit(r);
            }
        }
    }

    /** Publishes one record with the next seq; text lines have no realtime and leave first/last alone. */
    private void emit(ObjectNode record) throws Exception {
        String realtime = record.path("realtime").asText(null);
        if (options.maxEntries() != null && seq >= options.maxEntries()) {
            truncated = true;
            return;
        }
        record.put("seq", seq++);
        sink.accept(record);
        if (realtime != null) {
            if (first == null) {
                first = realtime;
            }
            last = realtime;
        }
    }

    private ObjectNode entryRecord(String root, JournalEntry e) {
        ObjectNode r = json.createObjectNode();
        r.put("jobId", jobId);
        r.put("root", root);
        r.put("source", "journal");
        r.put("realtime", e.realtime().toString());
        r.put("realtimeUsec", e.realtimeUsec());
        putIfPresent(r, "bootId", e.get("_BOOT_ID"));
        Integer p = e.priority();
        if (p != null) {
            r.put("priority", p);
        }
        putIfPresent(r, "identifier", e.identifier());
        putIfPresent(r, "unit", e.unit());
        String m = e.get("MESSAGE");
        if (m != null && JournalEntry.isText(m)) {
            r.put("message", m);
        }
        r.set("fields", e.toJournalctlJson(json, options.fields()));
        return r;
    }

    private ObjectNode textRecord(String root, String path, long line, String text) {
        ObjectNode r = json.createObjectNode();
        r.put("jobId", jobId);
        r.put("root", root);
        r.put("source", "text");
        r.put("path", path);
        r.put("line", line);
        r.put("message", text);
        return r;
    }

    private static void putIfPresent(ObjectNode r, String k, String v) {
        if (v != null) {
            r.put(k, v);
        }
    }
}
