package io.guestflow.scan;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.pool.FileTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
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

    /** One line per image; an image with several operating systems lists them separated by "; ". */
    public static String csv(ScanReport report) {
        StringBuilder sb = new StringBuilder(String.join(",", CSV_COLUMNS)).append("\r\n");
        for (ScanReport.ImageRow r : report.images()) {
            List<ScanReport.Os> os = r.operatingSystems() == null ? List.of() : r.operatingSystems();
            String[] cells = {r.path(), Long.toString(r.size()), r.modified(), r.change(), r.status(), r.errorCode(),
                r.errorMessage(), join(os, ScanReport.Os::type), join(os, ScanReport.Os::distro),
                join(os, ScanReport.Os::version), join(os, ScanReport.Os::productName), join(os, ScanReport.Os::hostname),
                join(os, ScanReport.Os::arch), r.packages() == null ? "" : r.packages().toString(), r.jobId()};
            for (int i = 0; i < cells.length; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                sb.append(cell(cells[i], i != 1 && i != 13));
            }
            sb.append("\r\n");
        }
        return sb.toString();
    }

    private static String join(List<ScanReport.Os> os, java.util.function.Function<ScanReport.Os, String> f) {
        return String.join("; ", os.stream().map(o -> f.apply(o) == null ? "" : f.apply(o)).toList());
    }

    /** Leading characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection list). */
    static final String FORMULA_STARTS = "=+-@\t\r";

    /** RFC 4180 quoting; guest-controlled text that a spreadsheet would run as a formula gets a leading quote. */
    static String cell(String v, boolean text) {
        if (v == null) {
            return "";
        }
        if (text && !v.isEmpty() && FORMULA_STARTS.indexOf(v.charAt(0)) >= 0) {
            v = "'" + v;
        }
        if (v.contains(",") || v.contains("\"") || v.contains("\n") || v.contains("\r")) {
            return '"' + v.replace("\"", "\"\"") + '"';
        }
        return v;
    }

    static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
