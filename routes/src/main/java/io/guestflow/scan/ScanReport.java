package io.guestflow.scan;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.pool.ImageFacts;
import io.guestflow.processors.info.InfoJobOperation;
import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.processors.job.JobResult;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What one scan run found: the summary (also published on the results
 * topic), one row per image, and the images gone since the previous run.
 * Written as report.json; report.html and report.csv are rendered from it.
 */
public record ScanReport(Summary summary, List<ImageRow> images, List<String> removed) {

    /** The scan summary record (results topic, key {@code scan-summary:<scan>:<runId>}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Summary(String kind, String scan, String runId, String type, Instant scheduledAt, Instant startedAt,
                          Instant finishedAt, String engine, List<String> roots, String previousRunId,
                          int imagesFound, int jobsProduced, int newImages, int changed, int unchanged, int removed,
                          int succeeded, int failed, int noResult, Map<String, Integer> byOsType,
                          Map<String, Integer> byDistro, Map<String, Integer> byVersion,
                          Map<String, Integer> failuresByCode, List<PackageCount> topPackages) {
    }

    public record PackageCount(String name, int images) {
    }

    /** One image: where it is, what changed, and what its job found (or why it failed). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ImageRow(String path, long size, String modified, String fingerprint, String jobId, String change,
                           String status, String errorCode, String errorMessage, List<Os> operatingSystems,
                           Integer packages) {
        public boolean failed() {
            return !"SUCCEEDED".equals(status);
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Os(String type, String distro, String version, String productName, String hostname, String arch) {
    }

    public static final String SUMMARY_KIND = "scan-summary";
    /** Turns a result's output into its operation's report; fields a newer engine adds are passed over. */
    private static final ObjectMapper OUTPUTS = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    static final int TOP_PACKAGES = 15;

    /** A previous run's images: path → fingerprint (what "changed" is measured against). */
    public static Map<String, String> fingerprints(ScanReport previous) {
        Map<String, String> m = new HashMap<>();
        if (previous != null) {
            previous.images().forEach(r -> m.put(r.path(), r.fingerprint()));
        }
        return m;
    }

    /**
     * Builds the report of a run from the images it found, the results of
     * their jobs (by jobId; absent: no result in time) and the previous run.
     */
    public static ScanReport build(ScanConfig scan, String runId, Instant scheduledAt, Instant startedAt, String engine,
                                   List<ScanImage> found, int jobsProduced, Map<String, JobResult> results,
                                   ScanReport previous) {
        Map<String, String> before = fingerprints(previous);
        Tally tally = new Tally();
        List<ImageRow> rows = new ArrayList<>();
        for (ScanImage img : found) {
            rows.add(tally.count(row(scan, img, change(before, img), results.get(img.jobId()))));
        }
        Set<String> now = new HashSet<>();
        found.forEach(i -> now.add(i.path()));
        List<String> removed = before.keySet().stream().filter(p -> !now.contains(p)).sorted().toList();
        Summary s = new Summary(SUMMARY_KIND, scan.name(), runId, scan.type(), scheduledAt, startedAt, Instant.now(), engine,
                scan.roots().stream().map(Object::toString).toList(),
                previous == null ? null : previous.summary().runId(),
                found.size(), jobsProduced, tally.fresh, tally.changed, tally.unchanged, removed.size(), tally.ok,
                tally.failed, tally.noResult, new LinkedHashMap<>(tally.byOsType), new LinkedHashMap<>(tally.byDistro),
                new LinkedHashMap<>(tally.byVersion), new LinkedHashMap<>(tally.failures), tally.topPackages());
        return new ScanReport(s, List.copyOf(rows), removed);
    }

    private static String change(Map<String, String> before, ScanImage img) {
        if (!before.containsKey(img.path())) {
            return "new";
        }
        return before.get(img.path()).equals(img.fingerprint()) ? "unchanged" : "changed";
    }

    /** An image's row with the packages its guests have (for the top packages). */
    private record Found(ImageRow row, Set<String> packages) {
    }

    private static Found row(ScanConfig scan, ScanImage img, String change, JobResult r) {
        if (r == null) {
            return new Found(new ImageRow(img.path(), img.size(), img.modified(), img.fingerprint(), img.jobId(), change,
                    "NO_RESULT", "NO_RESULT", "no result within " + scan.resultTimeout().toMinutes() + " min", List.of(),
                    null), Set.of());
        }
        String status = r.status() == null ? "UNKNOWN" : r.status().name();
        String code = null;
        String message = null;
        if (r.status() != JobResult.Status.SUCCEEDED) {
            code = r.error() == null || r.error().code() == null ? status : r.error().code();
            message = r.error() == null || r.error().message() == null ? "" : r.error().message();
        }
        List<InspectionReport.OperatingSystem> guests = inspection(r);
        List<Os> oses = guests.stream().map(ScanReport::os).toList();
        Integer packageCount = null;
        Set<String> packages = new HashSet<>();
        for (InspectionReport.OperatingSystem g : guests) {
            if (g.applications() != null) {
                packageCount = (packageCount == null ? 0 : packageCount) + g.applications().size();
                g.applications().forEach(a -> packages.add(a.name()));
            }
        }
        // an inspection that finds nothing to inspect is a failure for an inventory
        if ("SUCCEEDED".equals(status) && "inspect".equals(scan.type()) && oses.isEmpty()) {
            status = "FAILED";
            code = "NO_OS";
            message = "no operating system found on the image";
        }
        // a pre-check (info) flags what qemu-img found wrong: a red row with the reason
        String damage = "SUCCEEDED".equals(status) && "info".equals(scan.type()) ? infoDamage(info(r)) : null;
        if (damage != null) {
            status = "FAILED";
            code = "IMAGE_DAMAGED";
            message = damage;
        }
        return new Found(new ImageRow(img.path(), img.size(), img.modified(), img.fingerprint(), img.jobId(), change,
                status, code, message, oses, packageCount), packages);
    }

    private static Os os(InspectionReport.OperatingSystem g) {
        return new Os(blankless(g.type()), blankless(g.distro()),
                version(blankless(g.distro()), g.majorVersion(), g.minorVersion()), blankless(g.productName()),
                blankless(g.hostname()), blankless(g.arch()));
    }

    /** The guests an inspection found; none for a failed job or another job type's output. */
    private static List<InspectionReport.OperatingSystem> inspection(JobResult r) {
        InspectionReport rep = output(r, InspectionReport.class);
        return rep == null || rep.operatingSystems() == null ? List.of() : rep.operatingSystems();
    }

    private static InfoJobOperation.InfoReport info(JobResult r) {
        InfoJobOperation.InfoReport rep = output(r, InfoJobOperation.InfoReport.class);
        return rep == null || rep.disks() == null ? new InfoJobOperation.InfoReport(List.of()) : rep;
    }

    /** A result's output as its operation's report, or null when it has none of that shape. */
    private static <T> T output(JobResult r, Class<T> report) {
        try {
            return r.output() == null ? null : OUTPUTS.convertValue(r.output(), report);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** What the rows of a run add up to. */
    private static final class Tally {
        final Map<String, Integer> byOsType = new TreeMap<>();
        final Map<String, Integer> byDistro = new TreeMap<>();
        final Map<String, Integer> byVersion = new TreeMap<>();
        final Map<String, Integer> failures = new TreeMap<>();
        final Map<String, Integer> packages = new HashMap<>();
        int fresh, changed, unchanged, ok, failed, noResult;

        ImageRow count(Found f) {
            ImageRow r = f.row();
            switch (r.change()) {
                case "new" -> fresh++;
                case "changed" -> changed++;
                default -> unchanged++;
            }
            switch (r.status()) {
                case "NO_RESULT" -> noResult++;
                case "SUCCEEDED" -> ok++;
                default -> failed++;
            }
            if (r.errorCode() != null) {
                failures.merge(r.errorCode(), 1, Integer::sum);
            }
            for (Os o : r.operatingSystems()) {
                byOsType.merge(or(o.type(), "unknown"), 1, Integer::sum);
                byDistro.merge(or(o.distro(), "unknown"), 1, Integer::sum);
                byVersion.merge(or(o.distro(), "unknown") + " " + o.version(), 1, Integer::sum);
            }
            f.packages().forEach(p -> packages.merge(p, 1, Integer::sum));
            return r;
        }

        List<PackageCount> topPackages() {
            return packages.entrySet().stream()
                    .sorted(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                    .limit(TOP_PACKAGES).map(e -> new PackageCount(e.getKey(), e.getValue())).toList();
        }
    }

    /** As people write it: "12" for Debian 12.0, "22.04" for Ubuntu (year.month), "9.2" for RHEL 9.2. */
    static String version(String distro, int major, int minor) {
        if ("ubuntu".equals(distro)) {
            return String.format("%d.%02d", major, minor);
        }
        return minor == 0 ? Integer.toString(major) : major + "." + minor;
    }

    /** Empty text counts as unknown, like libguestfs's "unknown". */
    private static String blankless(String v) {
        return v == null || v.isEmpty() ? null : v;
    }

    private static String or(String v, String d) {
        return v == null ? d : v;
    }

    static Comparator<ImageRow> byPath() {
        return Comparator.comparing(ImageRow::path);
    }

    /** What an info result says is wrong with the image (corrupt, dirty, a failed check), or null. */
    static String infoDamage(InfoJobOperation.InfoReport info) {
        List<String> found = new ArrayList<>();
        for (ImageFacts.Disk d : info.disks()) {
            if (Boolean.TRUE.equals(d.corrupt())) {
                found.add(d.path() + ": marked corrupt");
            }
            if (Boolean.TRUE.equals(d.dirty())) {
                found.add(d.path() + ": dirty (not closed cleanly)");
            }
            String check = d.check() == null || d.check().result() == null ? "" : d.check().result();
            if (check.equals("corrupt") || check.equals("error")) {
                found.add(d.path() + ": qemu-img check: " + check
                        + (d.check().corruptions() != null ? " (" + d.check().corruptions() + " corruptions)" : ""));
            }
        }
        return found.isEmpty() ? null : String.join("; ", found);
    }
}
