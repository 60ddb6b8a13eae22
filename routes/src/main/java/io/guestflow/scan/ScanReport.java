package io.guestflow.scan;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
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
                                   List<ScanImage> found, int jobsProduced, Map<String, JsonNode> results,
                                   ScanReport previous) {
        Map<String, String> before = fingerprints(previous);
        List<ImageRow> rows = new ArrayList<>();
        Map<String, Integer> byOsType = new TreeMap<>();
        Map<String, Integer> byDistro = new TreeMap<>();
        Map<String, Integer> byVersion = new TreeMap<>();
        Map<String, Integer> failures = new TreeMap<>();
        Map<String, Integer> packages = new HashMap<>();
        int fresh = 0, changed = 0, unchanged = 0, ok = 0, failed = 0, noResult = 0;
        for (ScanImage img : found) {
            String change;
            if (!before.containsKey(img.path())) {
                change = "new";
                fresh++;
            } else if (!before.get(img.path()).equals(img.fingerprint())) {
                change = "changed";
                changed++;
            } else {
                change = "unchanged";
                unchanged++;
            }
            JsonNode r = results.get(img.jobId());
            String status;
            String code = null;
            String message = null;
            List<Os> oses = new ArrayList<>();
            Integer pkgCount = null;
            if (r == null) {
                status = "NO_RESULT";
                code = "NO_RESULT";
                message = "no result within " + scan.resultTimeout().toMinutes() + " min";
                noResult++;
            } else {
                status = r.path("status").asText("UNKNOWN");
                if (!"SUCCEEDED".equals(status)) {
                    code = r.path("error").path("code").asText(status);
                    message = r.path("error").path("message").asText("");
                }
                JsonNode osList = r.path("output").path("operatingSystems");
                Set<String> imagePackages = new HashSet<>();
                for (JsonNode os : osList) {
                    String version = version(text(os, "distro"), os.path("majorVersion").asInt(), os.path("minorVersion").asInt());
                    Os o = new Os(text(os, "type"), text(os, "distro"), version, text(os, "productName"),
                            text(os, "hostname"), text(os, "arch"));
                    oses.add(o);
                    byOsType.merge(or(o.type(), "unknown"), 1, Integer::sum);
                    byDistro.merge(or(o.distro(), "unknown"), 1, Integer::sum);
                    byVersion.merge(or(o.distro(), "unknown") + " " + version, 1, Integer::sum);
                    for (JsonNode app : os.path("applications")) {
                        imagePackages.add(app.path("name").asText());
                    }
                    if (os.has("applications")) {
                        pkgCount = (pkgCount == null ? 0 : pkgCount) + os.path("applications").size();
                    }
                }
                imagePackages.forEach(p -> packages.merge(p, 1, Integer::sum));
                // an inspection that finds nothing to inspect is a failure for an inventory
                if ("SUCCEEDED".equals(status) && "inspect".equals(scan.type()) && oses.isEmpty()) {
                    status = "FAILED";
                    code = "NO_OS";
                    message = "no operating system found on the image";
                }
                // a pre-check (info) flags what qemu-img found wrong: a red row with the reason
                String damage = "SUCCEEDED".equals(status) && "info".equals(scan.type()) ? infoDamage(r.path("output")) : null;
                if (damage != null) {
                    status = "FAILED";
                    code = "IMAGE_DAMAGED";
                    message = damage;
                }
                if ("SUCCEEDED".equals(status)) {
                    ok++;
                } else {
                    failed++;
                }
            }
            if (code != null) {
                failures.merge(code, 1, Integer::sum);
            }
            rows.add(new ImageRow(img.path(), img.size(), img.modified(), img.fingerprint(), img.jobId(), change, status,
                    code, message, oses, pkgCount));
        }
        Set<String> now = new HashSet<>();
        found.forEach(i -> now.add(i.path()));
        List<String> removed = before.keySet().stream().filter(p -> !now.contains(p)).sorted().toList();
        List<PackageCount> top = packages.entrySet().stream()
                .sorted(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .limit(TOP_PACKAGES).map(e -> new PackageCount(e.getKey(), e.getValue())).toList();
        Summary s = new Summary(SUMMARY_KIND, scan.name(), runId, scan.type(), scheduledAt, startedAt, Instant.now(), engine,
                scan.roots().stream().map(Object::toString).toList(),
                previous == null ? null : previous.summary().runId(),
                found.size(), jobsProduced, fresh, changed, unchanged, removed.size(), ok, failed, noResult,
                new LinkedHashMap<>(byOsType), new LinkedHashMap<>(byDistro), new LinkedHashMap<>(byVersion),
                new LinkedHashMap<>(failures), top);
        return new ScanReport(s, List.copyOf(rows), removed);
    }

    /** As people write it: "12" for Debian 12.0, "22.04" for Ubuntu (year.month), "9.2" for RHEL 9.2. */
    static String version(String distro, int major, int minor) {
        if ("ubuntu".equals(distro)) {
            return String.format("%d.%02d", major, minor);
        }
        return minor == 0 ? Integer.toString(major) : major + "." + minor;
    }

    private static String text(JsonNode n, String f) {
        JsonNode v = n.get(f);
        return v == null || v.isNull() || v.asText().isEmpty() ? null : v.asText();
    }

    private static String or(String v, String d) {
        return v == null ? d : v;
    }

    static Comparator<ImageRow> byPath() {
        return Comparator.comparing(ImageRow::path);
    }

    /** What an info result says is wrong with the image (corrupt, dirty, a failed check), or null. */
    static String infoDamage(JsonNode output) {
        List<String> found = new ArrayList<>();
        for (JsonNode d : output.path("disks")) {
            String path = d.path("path").asText();
            if (d.path("corrupt").asBoolean(false)) {
                found.add(path + ": marked corrupt");
            }
            if (d.path("dirty").asBoolean(false)) {
                found.add(path + ": dirty (not closed cleanly)");
            }
            String check = d.path("check").path("result").asText("");
            if (check.equals("corrupt") || check.equals("error")) {
                found.add(path + ": qemu-img check: " + check
                        + (d.path("check").has("corruptions") ? " (" + d.path("check").path("corruptions").asLong() + " corruptions)" : ""));
            }
        }
        return found.isEmpty() ? null : String.join("; ", found);
    }
}
