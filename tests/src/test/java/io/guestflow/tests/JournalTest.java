package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.redhat.et.libguestfs.GuestFS;
import io.guestflow.cli.GuestflowCli;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.journal.JournalEntry;
import io.guestflow.processors.journal.JournalExport;
import io.guestflow.processors.journal.JournalOptions;
import io.guestflow.processors.journal.JournalReport;
import io.guestflow.processors.journal.JournalSink;
import io.guestflow.tests.JournalFixtures.Guest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Tag;

/**
 * The journal export against journalctl, the oracle, on real journal files:
 * for each filter combination the entries we export (realtime + MESSAGE, in
 * order) equal what {@code journalctl -D} prints for the same filters on the
 * guest's journal directory. One appliance holds the three fixture guests
 * (journal, syslog only, neither) for all the exports; the command line is
 * checked with one more launch.
 */
@Tag("appliance")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JournalTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String JOURNAL_ROOT = "/dev/sda1";
    /** Within the first boot, so the command line's -S passes entries over and still crosses a boot. */
    private static final long SINCE = JournalFixtures.START_USEC + 2 * 3_600_000_000L;

    private final List<JournalEntry> entries = new ArrayList<>();
    private Export full;
    private HandlePool pool;
    private HandlePool.Lease lease;
    private GuestFS g;
    private List<ProcessHandle> qemuBefore;

    @BeforeAll
    void launch() throws Exception {
        qemuBefore = Leftovers.qemuChildren();
        List<Drive> drives = new ArrayList<>();
        for (Guest x : Guest.values()) {
            drives.add(new Drive(JournalFixtures.image(x).toUri(), "qcow2", true, null));
        }
        pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
        lease = pool.lease("journal-test");
        ApplianceHandle h = lease.launch(drives, GuestEventListener.NONE);
        g = h.gfs();
        assertThat(g.inspect_os()).containsExactly("/dev/sda1", "/dev/sdb1", "/dev/sdc1");
        // the journal is read through the appliance once (about 5 ms an entry with TCG); the filter
        // combinations run the same export pipeline over these entries
        full = export(JOURNAL_ROOT, "{}");
        for (ObjectNode r : full.records()) {
            entries.add(entry(r.path("fields")));
        }
    }

    /** The entry a record was made from, back from its journalctl-style fields. */
    private static JournalEntry entry(JsonNode fields) {
        List<Map.Entry<String, String>> pairs = new ArrayList<>();
        fields.fields().forEachRemaining(f -> {
            if (!f.getKey().equals("__REALTIME_TIMESTAMP")) {
                if (f.getValue().isArray()) {
                    f.getValue().forEach(v -> pairs.add(Map.entry(f.getKey(), v.asText())));
                } else {
                    pairs.add(Map.entry(f.getKey(), f.getValue().asText()));
                }
            }
        });
        return JournalEntry.of(fields.path("__REALTIME_TIMESTAMP").asLong(), pairs);
    }

    /** The export pipeline (filters, lines, maxEntries) over the entries read in {@link #launch()}. */
    private Export filtered(String options) throws Exception {
        Job job = job(options);
        List<ObjectNode> out = new ArrayList<>();
        new JournalExport(job.jobId(), JournalOptions.of(job), collector(out), JSON).exportEntries(JOURNAL_ROOT,
                entries.iterator());
        return new Export(out, null);
    }

    @AfterAll
    void close() {
        if (lease != null) {
            lease.close();
        }
        if (pool != null) {
            pool.close();
        }
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isSubsetOf(qemuBefore);
    }

    /** Records of one export of {@code root} with {@code options} (a journal job's JSON options). */
    private record Export(List<ObjectNode> records, JournalReport.Guest guest) {
        List<String> keys() {
            return records.stream().map(r -> r.path("realtimeUsec").asText() + " " + r.path("message").asText()).toList();
        }
    }

    private static Job job(String options) throws Exception {
        return new Job("journal-test", "journal", List.of(new Job.Disk("/x.qcow2", null, null)), null,
                (ObjectNode) JSON.readTree(options), 3600, Map.of(), false);
    }

    private static JournalSink collector(List<ObjectNode> out) {
        return new JournalSink() {
            @Override
            public void accept(ObjectNode record) {
                out.add(record);
            }

            @Override
            public void complete() {
            }
        };
    }

    /** The whole export of one guest's root through the appliance: mount, journal or text logs, pipeline. */
    private Export export(String root, String options) throws Exception {
        Job job = job(options);
        List<ObjectNode> out = new ArrayList<>();
        JournalSink sink = collector(out);
        long t0 = System.nanoTime();
        JournalReport.Guest guest = new JournalExport(job.jobId(), JournalOptions.of(job), sink, JSON).exportRoot(g, root);
        System.out.printf("journal export %s %s: %d of %d entries in %d ms%n", root, options, out.size(), guest.scanned(),
                (System.nanoTime() - t0) / 1_000_000);
        return new Export(out, guest);
    }

    /** journalctl -D on the fixture's journal directory: "realtime MESSAGE" per entry, in its order. */
    private static List<String> journalctl(String... filters) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("journalctl", "--no-pager", "-q", "-D",
                JournalFixtures.journalDir().toString(), "-o", "json"));
        cmd.addAll(Arrays.asList(filters));
        String out = VirtTool.run(Duration.ofMinutes(2), cmd).orFail("journalctl").stdout();
        List<String> keys = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                JsonNode e = JSON.readTree(line);
                keys.add(e.path("__REALTIME_TIMESTAMP").asText() + " " + e.path("MESSAGE").asText());
            }
        }
        return keys;
    }

    private static String at(long usec) {
        return "@" + usec / 1_000_000;
    }

    private static String iso(long usec) {
        return java.time.Instant.ofEpochSecond(usec / 1_000_000).toString();
    }

    @Test
    void everyEntryOfBothBootsInJournalOrderWithItsFields() throws Exception {
        Export all = full;
        List<String> oracle = journalctl();
        assertThat(oracle).hasSize(JournalFixtures.ENTRIES);
        assertThat(all.keys()).isEqualTo(oracle);
        assertThat(all.guest().source()).isEqualTo("journal");
        assertThat(all.guest().scanned()).isEqualTo(JournalFixtures.ENTRIES);
        ObjectNode first = all.records().get(0);
        assertThat(first.path("bootId").asText()).isEqualTo(JournalFixtures.BOOT1);
        assertThat(first.path("fields").path("_HOSTNAME").asText()).isEqualTo("journalhost");
        assertThat(first.path("fields").path("__REALTIME_TIMESTAMP").asLong()).isEqualTo(first.path("realtimeUsec").asLong());
        assertThat(first.path("seq").asLong()).isZero();
        assertThat(all.records().get(all.records().size() - 1).path("bootId").asText()).isEqualTo(JournalFixtures.BOOT2);
        assertThat(all.records()).extracting(r -> r.path("seq").asLong())
                .isEqualTo(java.util.stream.LongStream.range(0, JournalFixtures.ENTRIES).boxed().toList());
        all.records().forEach(r -> Schemas.assertValid("journal-record.schema.json", r));
    }

    @Test
    void priorityIdentifierUnitAndBootFiltersMatchJournalctl() throws Exception {
        assertThat(filtered("{\"priority\":3}").keys()).isEqualTo(journalctl("-p", "3")).isNotEmpty();
        assertThat(filtered("{\"identifiers\":[\"app1\",\"CRON\"]}").keys())
                .isEqualTo(journalctl("-t", "app1", "-t", "CRON")).isNotEmpty();
        // -u also takes PID 1's messages about the unit (UNIT=, _PID=1)
        Export unit = filtered("{\"units\":[\"app2\"]}");
        assertThat(unit.keys()).isEqualTo(journalctl("-u", "app2")).isNotEmpty();
        assertThat(unit.records()).anyMatch(r -> r.path("fields").path("_PID").asText().equals("1"));
        assertThat(filtered("{\"bootId\":\"" + JournalFixtures.BOOT2 + "\"}").keys())
                .isEqualTo(journalctl("-b", JournalFixtures.BOOT2)).hasSize(JournalFixtures.BOOT2_ENTRIES);
    }

    @Test
    void timeGrepLinesAndCombinedFiltersMatchJournalctl() throws Exception {
        long since = JournalFixtures.START_USEC + 3_600_000_000L;
        long until = JournalFixtures.START_USEC + 5 * 3_600_000_000L;
        assertThat(filtered("{\"since\":\"" + iso(since) + "\",\"until\":\"" + iso(until) + "\"}").keys())
                .isEqualTo(journalctl("-S", at(since), "-U", at(until))).isNotEmpty();
        // smart case: lower case matches Error and ERROR too; upper case only itself
        assertThat(filtered("{\"grep\":\"error\"}").keys()).isEqualTo(journalctl("-g", "error")).isNotEmpty();
        assertThat(filtered("{\"grep\":\"ERROR\"}").keys()).isEqualTo(journalctl("-g", "ERROR")).isNotEmpty();
        assertThat(filtered("{\"lines\":25}").keys()).isEqualTo(journalctl("-n", "25")).hasSize(25);
        assertThat(filtered("{\"priority\":4,\"units\":[\"cron\"],\"since\":\"" + iso(since) + "\",\"until\":\""
                + iso(until) + "\",\"grep\":\"error\"}").keys())
                .isEqualTo(journalctl("-p", "4", "-u", "cron", "-S", at(since), "-U", at(until), "-g", "error")).isNotEmpty();
        // lines is the last N that pass every filter, in journal order. journalctl 252 prints -g with -n newest
        // first, so its list is compared reversed
        List<String> lastMatches = new ArrayList<>(journalctl("-p", "4", "-u", "cron", "-g", "error", "-n", "10"));
        java.util.Collections.reverse(lastMatches);
        assertThat(filtered("{\"priority\":4,\"units\":[\"cron\"],\"grep\":\"error\",\"lines\":10}").keys())
                .isEqualTo(lastMatches).hasSize(10);
    }

    @Test
    void maxEntriesCutsTheStreamAndFieldsAreKeptAsAsked() throws Exception {
        Export cut = filtered("{\"maxEntries\":100,\"fields\":[\"MESSAGE\",\"PRIORITY\"]}");
        assertThat(cut.keys()).isEqualTo(journalctl("-n", "all").subList(0, 100));
        assertThat(cut.records()).allSatisfy(r -> assertThat(r.path("fields").fieldNames()).toIterable()
                .isSubsetOf("__REALTIME_TIMESTAMP", "MESSAGE", "PRIORITY").contains("MESSAGE"));
    }

    @Test
    void aGuestWithoutAJournalGivesItsSyslogLines() throws Exception {
        Export text = export("/dev/sdb1", "{}");
        assertThat(text.guest().source()).isEqualTo("text");
        assertThat(text.guest().paths()).containsExactly("/var/log/syslog");
        assertThat(text.records()).extracting(r -> r.path("message").asText()).isEqualTo(JournalFixtures.SYSLOG_LINES);
        assertThat(text.records()).extracting(r -> r.path("line").asLong()).containsExactly(1L, 2L, 3L, 4L, 5L);
        text.records().forEach(r -> Schemas.assertValid("journal-record.schema.json", r));
        Export grep = export("/dev/sdb1", "{\"grep\":\"error\",\"priority\":3}");
        assertThat(grep.records()).extracting(r -> r.path("message").asText())
                .containsExactly(JournalFixtures.SYSLOG_LINES.get(3));
        assertThat(grep.guest().notes()).anyMatch(n -> n.contains("did not apply") && n.contains("priority"));
    }

    @Test
    void aGuestWithNeitherGivesNothingAndSaysSo() throws Exception {
        Export none = export("/dev/sdc1", "{}");
        assertThat(none.guest().source()).isEqualTo("none");
        assertThat(none.records()).isEmpty();
    }

    /** bin/guestflow journal, in-process: -o short as journalctl prints it, and the reason for a guest with neither. */
    @Test
    void theCommandLinePrintsLikeJournalctl() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        picocli.CommandLine cl = GuestflowCli.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        java.util.TimeZone saved = java.util.TimeZone.getDefault();
        java.util.TimeZone.setDefault(java.util.TimeZone.getTimeZone("UTC"));
        int exit;
        try {
            exit = cl.execute("journal", "-p", "2", "-S", at(SINCE), "-o", "short", JournalFixtures.image(Guest.JOURNAL).toString(),
                    JournalFixtures.image(Guest.BARE).toString());
        } finally {
            java.util.TimeZone.setDefault(saved);
        }
        assertThat(exit).as(err.toString()).isZero();
        // no -q: it would hide the "-- Boot ID --" separators
        ProcessBuilder pb = new ProcessBuilder("journalctl", "--no-pager", "-D", JournalFixtures.journalDir().toString(),
                "-p", "2", "-S", at(SINCE), "-o", "short");
        pb.environment().put("TZ", "UTC");
        Process p = pb.redirectErrorStream(true).start();
        String oracle = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        assertThat(out.toString()).isEqualTo(oracle).contains("-- Boot " + JournalFixtures.BOOT2 + " --");
        // Debian's product name is its /etc/debian_version
        assertThat(err.toString()).contains("-- /dev/sda1 (12.5): journal /var/log/journal --")
                .contains("-- /dev/sdb1 (12.5): none --");
    }
}
