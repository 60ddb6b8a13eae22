package io.guestflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.journal.JournalJobOperation;
import io.guestflow.processors.journal.JournalReport;
import io.guestflow.processors.journal.JournalSink;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code guestflow journal}: a guest's journal on standard output, with journalctl's flags. */
@Command(name = "journal", mixinStandardHelpOptions = true,
        description = {"Print the journal of the guest on DISK... (read-only), as journalctl would.",
            "Without a persistent journal the guest's /var/log/messages or /var/log/syslog is printed.",
            "A summary goes to standard error."})
public final class JournalCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter SHORT_TIME = DateTimeFormatter.ofPattern("MMM dd HH:mm:ss", Locale.ENGLISH);

    @Spec
    CommandSpec spec;

    @Mixin
    GuestflowCli.Common common = new GuestflowCli.Common();

    @Mixin
    JobOptions jobOptions = new JobOptions(3600);

    @Mixin
    KeyOptions keyOptions = new KeyOptions();

    @Option(names = {"-p", "--priority"}, paramLabel = "PRIO", description = "Entries of this priority or more urgent: 0-7 or emerg, alert, crit, err, warning, notice, info, debug.")
    String priority;

    @Option(names = {"-S", "--since"}, paramLabel = "TIME", description = "Entries at or after TIME: 'YYYY-MM-DD HH:MM:SS' (local time), ISO-8601, or @EPOCH-SECONDS.")
    String since;

    @Option(names = {"-U", "--until"}, paramLabel = "TIME", description = "Entries at or before TIME (same forms as --since).")
    String until;

    @Option(names = {"-u", "--unit"}, paramLabel = "UNIT", description = "Entries of this systemd unit (repeatable; no suffix means .service).")
    List<String> units = new ArrayList<>();

    @Option(names = {"-t", "--identifier"}, paramLabel = "ID", description = "Entries with this SYSLOG_IDENTIFIER (repeatable).")
    List<String> identifiers = new ArrayList<>();

    @Option(names = {"-b", "--boot"}, paramLabel = "ID", description = "Entries of this boot (a boot ID, as journalctl --list-boots shows).")
    String boot;

    @Option(names = {"-g", "--grep"}, paramLabel = "REGEX", description = "Entries whose MESSAGE matches (case-insensitive when REGEX has no upper case).")
    String grep;

    @Option(names = {"-n", "--lines"}, paramLabel = "N", description = "Only the last N entries.")
    Integer lines;

    @Option(names = "--max-entries", paramLabel = "N", description = "Stop after the first N entries.")
    Long maxEntries;

    @Option(names = {"-o", "--output"}, paramLabel = "MODE", defaultValue = "short", description = "short (like journalctl -o short) or json (one object per line, journalctl's field names). Default: ${DEFAULT-VALUE}.")
    String output;

    @Option(names = "--output-fields", paramLabel = "FIELD,...", split = ",", description = "Fields -o json keeps.")
    List<String> outputFields = new ArrayList<>();

    @Parameters(arity = "1..*", paramLabel = "DISK", description = "The guest's disks, in order.")
    List<String> disks;

    @Override
    public Integer call() throws Exception {
        if (!output.equals("short") && !output.equals("json")) {
            throw new ParameterException(spec.commandLine(), "-o/--output must be short or json, not '" + output + "'");
        }
        ObjectNode options = LocalJob.options();
        if (priority != null) {
            options.put("priority", priority);
        }
        if (since != null) {
            options.put("since", time("--since", since).toString());
        }
        if (until != null) {
            options.put("until", time("--until", until).toString());
        }
        array(options, "units", units);
        array(options, "identifiers", identifiers);
        if (boot != null) {
            options.put("bootId", boot);
        }
        if (grep != null) {
            options.put("grep", grep);
        }
        if (lines != null) {
            options.put("lines", lines);
        }
        if (maxEntries != null) {
            options.put("maxEntries", maxEntries);
        }
        array(options, "fields", outputFields);
        PrintWriter out = spec.commandLine().getOut();
        JournalJobOperation op = new JournalJobOperation(job -> output.equals("json") ? new JsonLines(out) : new ShortLines(out));
        Job job = jobOptions.job(op.type(), disks, null, options);
        JournalReport report = (JournalReport) LocalJob.run(common, op, keyOptions.attach(job), keyOptions);
        out.flush();
        PrintWriter err = spec.commandLine().getErr();
        err.printf("-- %d entr%s (%d read)%s%s --%n", report.entries(), report.entries() == 1 ? "y" : "ies",
                report.scanned(), report.truncated() ? ", cut by --max-entries" : "",
                report.reason() != null ? ": " + report.reason() : "");
        for (JournalReport.Guest g : report.guests()) {
            err.printf("-- %s (%s): %s%s%s --%n", g.root(), g.product(), g.source(),
                    g.paths().isEmpty() ? "" : " " + String.join(", ", g.paths()),
                    g.notes() == null ? "" : "; " + String.join("; ", g.notes()));
        }
        err.flush();
        return ExitCodes.OK;
    }

    private static void array(ObjectNode options, String name, List<String> values) {
        if (!values.isEmpty()) {
            ArrayNode a = options.putArray(name);
            values.forEach(a::add);
        }
    }

    /** journalctl's common time forms: @epoch, ISO-8601 with a zone, local "YYYY-MM-DD[ HH:MM[:SS]]". */
    private Instant time(String flag, String s) {
        String t = s.trim();
        try {
            if (t.startsWith("@")) {
                return Instant.ofEpochSecond(Long.parseLong(t.substring(1)));
            }
            try {
                return OffsetDateTime.parse(t.replace(' ', 'T')).toInstant();
            } catch (DateTimeParseException e) {
                String local = t.replace(' ', 'T');
                if (local.length() == 10) {
                    local += "T00:00:00";
                } else if (local.length() == 16) {
                    local += ":00";
                }
                return LocalDateTime.parse(local).atZone(ZoneId.systemDefault()).toInstant();
            }
        } catch (RuntimeException e) {
            throw new ParameterException(spec.commandLine(), flag + ": '" + s
                    + "' is not a time (use 'YYYY-MM-DD HH:MM:SS', ISO-8601 or @EPOCH-SECONDS)");
        }
    }

    /** -o json: the entry with journalctl's field names, one object per line; text-log lines as {"MESSAGE": ...}. */
    private static final class JsonLines implements JournalSink {
        private final PrintWriter out;

        JsonLines(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void accept(ObjectNode r) throws Exception {
            JsonNode fields = r.get("fields");
            if (fields == null) {
                ObjectNode line = JSON.createObjectNode();
                line.put("MESSAGE", r.path("message").asText());
                line.put("_SOURCE_PATH", r.path("path").asText());
                fields = line;
            }
            out.println(JSON.writeValueAsString(fields));
        }

        @Override
        public void complete() {
            out.flush();
        }
    }

    /** -o short: "Nov 20 10:00:00 host ident[pid]: message", a "-- Boot ID --" line where the boot changes. */
    private static final class ShortLines implements JournalSink {
        private final PrintWriter out;
        private String boot;

        ShortLines(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void accept(ObjectNode r) {
            JsonNode f = r.get("fields");
            if (f == null) {
                out.println(r.path("message").asText()); // a text-log line is already in syslog's short form
                return;
            }
            String b = f.path("_BOOT_ID").asText(null);
            if (b != null && boot != null && !b.equals(boot)) {
                out.println("-- Boot " + b + " --");
            }
            if (b != null) {
                boot = b;
            }
            StringBuilder line = new StringBuilder();
            long usec = Long.parseLong(f.path("__REALTIME_TIMESTAMP").asText("0"));
            line.append(SHORT_TIME.format(Instant.ofEpochSecond(usec / 1_000_000).atZone(ZoneId.systemDefault())));
            String host = f.path("_HOSTNAME").asText(null);
            if (host != null) {
                line.append(' ').append(host);
            }
            String ident = f.path("SYSLOG_IDENTIFIER").asText(f.path("_COMM").asText(null));
            String pid = f.path("_PID").asText(f.path("SYSLOG_PID").asText(null));
            if (ident != null) {
                line.append(' ').append(ident);
                if (pid != null) {
                    line.append('[').append(pid).append(']');
                }
            }
            line.append(": ");
            int indent = line.length();
            String[] msg = f.path("MESSAGE").asText("").split("\n", -1);
            line.append(msg[0]);
            for (int i = 1; i < msg.length; i++) {
                line.append('\n').append(" ".repeat(indent)).append(msg[i]);
            }
            out.println(line);
        }

        @Override
        public void complete() {
            out.flush();
        }
    }
}
