package io.guestflow.scan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.dataformat.csv.CsvGenerator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import io.guestflow.pool.FileTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A run's report files under {@code <reports-dir>/<scan>/<runId>/}:
 * report.html, report.csv, report.json. Written into a temporary folder
 * beside it and renamed at once, so a reader never sees half a report and
 * a crash leaves nothing that looks like one.
 */
public final class ReportFiles {
    /** Run ids sort in time order: the previous run is the greatest one before. */
    static final Pattern RUN_ID = Pattern.compile("\\d{8}T\\d{6}Z(-[a-z0-9]+)?");

    private ReportFiles() {
    }

    public static Path write(Path reportsDir, ScanReport report, ObjectMapper json) throws IOException {
        Path scanDir = reportsDir.resolve(report.summary().scan());
        Files.createDirectories(scanDir);
        Path dir = scanDir.resolve(report.summary().runId());
        Path tmp = scanDir.resolve("." + report.summary().runId() + ".tmp-" + UUID.randomUUID());
        try {
            Files.createDirectory(tmp);
            Files.writeString(tmp.resolve("report.html"), ReportHtml.render(report, json), StandardCharsets.UTF_8);
            Files.writeString(tmp.resolve("report.csv"), csv(report), StandardCharsets.UTF_8);
            json.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve("report.json").toFile(), report);
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
                // another instance fired the same scheduled run and wrote it first: same run, same report
            }
        } finally {
            if (Files.exists(tmp)) {
                FileTrees.delete(tmp);
            }
        }
        return dir;
    }

    /** The latest run of {@code scan} before {@code runId} that has a report, or null. */
    public static ScanReport previous(Path reportsDir, String scan, String runId, ObjectMapper json) {
        Path scanDir = reportsDir.resolve(scan);
        if (!Files.isDirectory(scanDir)) {
            return null;
        }
        String best = null;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(scanDir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (RUN_ID.matcher(n).matches() && n.compareTo(runId) < 0 && Files.isRegularFile(p.resolve("report.json"))
                        && (best == null || n.compareTo(best) > 0)) {
                    best = n;
                }
            }
            return best == null ? null : json.readValue(scanDir.resolve(best).resolve("report.json").toFile(), ScanReport.class);
        } catch (IOException e) {
            // an unreadable previous report: every image counts as new, the run still reports
            return null;
        }
    }

    static final List<String> CSV_COLUMNS = List.of("path", "size", "modified", "change", "status", "error_code",
            "error_message", "os_type", "distro", "version", "product_name", "hostname", "arch", "packages", "job_id");

    /** RFC 4180 with CRLF line ends, quoted only where a cell needs it (separator, quote, line break). */
    private static final CsvMapper CSV = new CsvMapper();
    private static final ObjectWriter CSV_WRITER = CSV.writer(csvSchema())
            .with(CsvGenerator.Feature.STRICT_CHECK_FOR_QUOTING);

    private static CsvSchema csvSchema() {
        CsvSchema.Builder b = CsvSchema.builder();
        CSV_COLUMNS.forEach(b::addColumn);
        return b.build().withHeader().withLineSeparator("\r\n").withNullValue("");
    }

    /** One line per image; an image with several operating systems lists them separated by "; ". */
    public static String csv(ScanReport report) {
        List<String[]> rows = new ArrayList<>();
        for (ScanReport.ImageRow r : report.images()) {
            List<ScanReport.Os> os = r.operatingSystems() == null ? List.of() : r.operatingSystems();
            // size and packages are numbers the engine wrote; every other cell may hold guest or path text
            rows.add(new String[] {defused(r.path()), Long.toString(r.size()), defused(r.modified()),
                defused(r.change()), defused(r.status()), defused(r.errorCode()), defused(r.errorMessage()),
                join(os, ScanReport.Os::type), join(os, ScanReport.Os::distro), join(os, ScanReport.Os::version),
                join(os, ScanReport.Os::productName), join(os, ScanReport.Os::hostname), join(os, ScanReport.Os::arch),
                r.packages() == null ? null : r.packages().toString(), defused(r.jobId())});
        }
        try {
            return CSV_WRITER.writeValueAsString(rows);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("CSV of plain strings cannot fail", e);
        }
    }

    private static String join(List<ScanReport.Os> os, Function<ScanReport.Os, String> f) {
        return defused(String.join("; ", os.stream().map(o -> f.apply(o) == null ? "" : f.apply(o)).toList()));
    }

    /** Leading characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list). */
    static final String FORMULA_STARTS = "=+-@\t\r";

    /** Guest-controlled text that a spreadsheet would run as a formula gets a leading quote. */
    static String defused(String v) {
        if (v != null && !v.isEmpty() && FORMULA_STARTS.indexOf(v.charAt(0)) >= 0) {
            return "'" + v;
        }
        return v;
    }

    static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
