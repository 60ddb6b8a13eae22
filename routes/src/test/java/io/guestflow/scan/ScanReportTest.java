package io.guestflow.scan;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.config.GuestflowConfig;
import io.guestflow.engine.Engine;
import io.guestflow.processors.info.InfoJobOperation;
import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScanReportTest {
    private static final ObjectMapper JSON = Engine.json();

    @TempDir
    Path reports;

    private static ScanConfig scan() {
        return GuestflowConfig.scan("fleet", Map.of("guestflow.scan.fleet.roots", "/srv/images"), Map.of());
    }

    private static ScanImage img(String name, String fp) {
        return new ScanImage("/srv/images/" + name, 1 << 20, "2026-11-25T00:00:00Z", fp,
                ImageWalker.jobId("fleet", "/srv/images/" + name, fp));
    }

    private static JobResult linux(String distro, int major, String host, String... packages) throws Exception {
        StringBuilder apps = new StringBuilder();
        for (String p : packages) {
            apps.append(apps.length() == 0 ? "" : ",").append("{\"name\":\"").append(p).append("\"}");
        }
        return result("{\"status\":\"SUCCEEDED\",\"output\":{\"operatingSystems\":[{\"type\":\"linux\",\"distro\":\""
                + distro + "\",\"majorVersion\":" + major + ",\"minorVersion\":0,\"hostname\":" + JSON.writeValueAsString(host)
                + ",\"productName\":\"" + distro + " " + major + "\",\"applications\":[" + apps + "]}]}}");
    }

    /** A result as the results topic carries it, read as the scan runner reads it. */
    private static JobResult result(String json) throws Exception {
        return JSON.readValue(json, JobResult.class);
    }

    private static JobResult failed(String status, String code, String message) throws Exception {
        return result("{\"status\":\"" + status + "\",\"error\":{\"code\":\"" + code + "\",\"message\":\"" + message + "\"}}");
    }

    @Test
    void countsCompositionFailuresAndChanges() throws Exception {
        List<ScanImage> first = List.of(img("web.qcow2", "f1"), img("db.qcow2", "f2"), img("old.qcow2", "f3"));
        Map<String, JobResult> r1 = new HashMap<>();
        r1.put(first.get(0).jobId(), linux("debian", 12, "web01", "bash", "openssh-server"));
        r1.put(first.get(1).jobId(), linux("ubuntu", 22, "db01", "bash"));
        r1.put(first.get(2).jobId(), linux("debian", 12, "old01", "bash"));
        ScanReport one = ScanReport.build(scan(), "20261125T020000Z", Instant.parse("2026-11-25T02:00:00Z"), Instant.now(),
                "e1", first, 3, r1, null);
        assertThat(one.summary().newImages()).isEqualTo(3);
        assertThat(one.summary().byDistro()).containsExactlyInAnyOrderEntriesOf(Map.of("debian", 2, "ubuntu", 1));
        assertThat(one.summary().byVersion()).containsEntry("debian 12", 2);
        assertThat(ScanReport.version("ubuntu", 22, 4)).isEqualTo("22.04");
        assertThat(ScanReport.version("rhel", 9, 2)).isEqualTo("9.2");
        assertThat(one.summary().topPackages().get(0)).isEqualTo(new ScanReport.PackageCount("bash", 3));
        Path dir1 = ReportFiles.write(reports, one, JSON);
        assertThat(dir1).isEqualTo(reports.resolve("fleet").resolve("20261125T020000Z"));

        // next night: web unchanged, db rewritten, old gone, a blank disk and a corrupt file appeared
        List<ScanImage> second = List.of(img("web.qcow2", "f1"), img("db.qcow2", "f2b"), img("blank.qcow2", "f4"),
                img("corrupt.qcow2", "f5"), img("slow.qcow2", "f6"));
        Map<String, JobResult> r2 = new HashMap<>();
        r2.put(second.get(0).jobId(), r1.get(first.get(0).jobId()));
        r2.put(second.get(1).jobId(), linux("ubuntu", 24, "db01", "bash"));
        r2.put(second.get(2).jobId(), result("{\"status\":\"SUCCEEDED\",\"output\":{\"operatingSystems\":[]}}"));
        r2.put(second.get(3).jobId(), failed("REJECTED", "DISK_CORRUPT", "/srv/images/corrupt.qcow2: qcow2 image is damaged or truncated"));
        ScanReport previous = ReportFiles.previous(reports, "fleet", "20261126T020000Z", JSON);
        assertThat(previous).isNotNull();
        assertThat(previous.summary().runId()).isEqualTo("20261125T020000Z");
        ScanReport two = ScanReport.build(scan(), "20261126T020000Z", Instant.parse("2026-11-26T02:00:00Z"), Instant.now(),
                "e1", second, 4, r2, previous);
        ScanReport.Summary s = two.summary();
        assertThat(s.previousRunId()).isEqualTo("20261125T020000Z");
        assertThat(List.of(s.imagesFound(), s.newImages(), s.changed(), s.unchanged(), s.removed()))
                .containsExactly(5, 3, 1, 1, 1);
        assertThat(List.of(s.succeeded(), s.failed(), s.noResult())).containsExactly(2, 2, 1);
        assertThat(s.failuresByCode()).containsExactlyInAnyOrderEntriesOf(Map.of("NO_OS", 1, "DISK_CORRUPT", 1, "NO_RESULT", 1));
        assertThat(two.removed()).containsExactly("/srv/images/old.qcow2");
        ScanReport.ImageRow blank = two.images().get(2);
        assertThat(blank.status()).isEqualTo("FAILED");
        assertThat(blank.errorMessage()).contains("no operating system");
        assertThat(two.images().get(3).errorCode()).isEqualTo("DISK_CORRUPT");
        assertThat(two.images().get(3).status()).isEqualTo("REJECTED");
    }

    @Test
    void filesAreWrittenEscapedAndReadBack() throws Exception {
        List<ScanImage> imgs = List.of(img("evil.qcow2", "f1"), img("x,y.qcow2", "f2"));
        Map<String, JobResult> r = new HashMap<>();
        r.put(imgs.get(0).jobId(), linux("debian", 12, "<script>alert(1)</script>", "bash"));
        r.put(imgs.get(1).jobId(), linux("debian", 12, "=HYPERLINK(\"http://x\")", "bash"));
        ScanReport rep = ScanReport.build(scan(), "20261125T020000Z", Instant.now(), Instant.now(), "e", imgs, 2, r, null);
        Path dir = ReportFiles.write(reports, rep, JSON);
        assertThat(Files.list(dir).map(p -> p.getFileName().toString()).sorted().toList())
                .containsExactly("report.csv", "report.html", "report.json");
        // no temporary folder stays beside the run
        assertThat(Files.list(dir.getParent()).map(p -> p.getFileName().toString()).toList()).containsExactly("20261125T020000Z");
        String html = Files.readString(dir.resolve("report.html"));
        // the guest's hostname never becomes markup: it is only inside the JSON data, its '<' and '>' escaped
        assertThat(html).doesNotContain("<script>alert(1)</script>").contains("\\u003cscript\\u003ealert(1)");
        // self-contained: nothing loaded from anywhere
        assertThat(html).doesNotContainPattern("(src|href)\\s*=").doesNotContain("@import", "url(")
                .contains("<svg class=\"chart-svg\"");
        String csv = Files.readString(dir.resolve("report.csv"));
        assertThat(csv.split("\r\n")).hasSize(3);
        assertThat(csv).contains("\"/srv/images/x,y.qcow2\"").contains("\"'=HYPERLINK(\"\"http://x\"\")\"");
        ScanReport back = JSON.readValue(dir.resolve("report.json").toFile(), ScanReport.class);
        assertThat(back).isEqualTo(rep);
    }

    /** Any guest string: the script element's text holds no '<' at all and parses back to the same data. */
    @Test
    void theEmbeddedDataIsSafeForAnyGuestString() throws Exception {
        String[] hostile = {"<!--", "</script>", "<script>", "<!--<script>", "a]]>b", "x\u2028y\u2029z", "&lt;", "\"\\</"};
        List<ScanImage> imgs = new java.util.ArrayList<>();
        Map<String, JobResult> r = new HashMap<>();
        for (int i = 0; i < hostile.length; i++) {
            ScanImage im = img("g" + i + ".qcow2", "f" + i);
            imgs.add(im);
            r.put(im.jobId(), linux("debian", 12, hostile[i], "bash"));
        }
        ScanReport rep = ScanReport.build(scan(), "20261125T030000Z", Instant.now(), Instant.now(), "e", imgs, hostile.length, r, null);
        String html = ReportHtml.render(rep, JSON);
        String open = "<script type=\"application/json\" id=\"scan-data\">";
        int start = html.indexOf(open) + open.length();
        String data = html.substring(start, html.indexOf("</script>", start));
        assertThat(data).doesNotContain("<").doesNotContain(">").doesNotContain("\u2028");
        assertThat(JSON.readValue(data, ScanReport.class)).isEqualTo(rep);
    }

    @Test
    void theFormulaGuardCoversEveryLeadingCharacterSpreadsheetsRun() {
        for (String v : new String[] {"=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"}) {
            assertThat(ReportFiles.defused(v)).as(v).isEqualTo("'" + v);
        }
        assertThat(ReportFiles.defused("debian")).isEqualTo("debian");
    }

    /** The CSV's bytes: header, CRLF, quotes only where a cell needs them, formulas defused, numbers as written. */
    @Test
    void csvBytesAreStable() throws Exception {
        List<ScanImage> imgs = List.of(img("a b.qcow2", "f1"), img("x,y.qcow2", "f2"), img("gone.qcow2", "f3"));
        Map<String, JobResult> r = new HashMap<>();
        r.put(imgs.get(0).jobId(), linux("debian", 12, "\t=1", "bash", "vim"));
        r.put(imgs.get(1).jobId(), linux("ubuntu", 22, "say \"hi\"\r\n", "bash"));
        ScanReport rep = ScanReport.build(scan(), "20261125T020000Z", Instant.now(), Instant.now(), "e", imgs, 3, r, null);
        String id0 = imgs.get(0).jobId(), id1 = imgs.get(1).jobId(), id2 = imgs.get(2).jobId();
        assertThat(ReportFiles.csv(rep)).isEqualTo(
                "path,size,modified,change,status,error_code,error_message,os_type,distro,version,product_name,hostname,arch,packages,job_id\r\n"
                + "/srv/images/a b.qcow2,1048576,2026-11-25T00:00:00Z,new,SUCCEEDED,,,linux,debian,12,debian 12,'\t=1,,2," + id0 + "\r\n"
                + "\"/srv/images/x,y.qcow2\",1048576,2026-11-25T00:00:00Z,new,SUCCEEDED,,,linux,ubuntu,22.00,ubuntu 22,"
                + "\"say \"\"hi\"\"\r\n\",,1," + id1 + "\r\n"
                + "/srv/images/gone.qcow2,1048576,2026-11-25T00:00:00Z,new,NO_RESULT,NO_RESULT,no result within 1440 min,,,,,,,,"
                + id2 + "\r\n");
    }

    /** An info scan is a pre-check: what qemu-img found wrong makes the row red, with the reason. */
    @Test
    void infoResultsFlagCorruptAndDirtyImages() throws Exception {
        InfoJobOperation.InfoReport clean = JSON.readValue("{\"disks\":[{\"path\":\"/a.qcow2\",\"dirty\":false,\"corrupt\":false,"
                + "\"check\":{\"result\":\"leaks\",\"leaks\":3}}]}", InfoJobOperation.InfoReport.class);
        assertThat(ScanReport.infoDamage(clean)).as("leaks are harmless for reading").isNull();
        InfoJobOperation.InfoReport bad = JSON.readValue("{\"disks\":[{\"path\":\"/a.qcow2\",\"dirty\":true,\"corrupt\":false},"
                + "{\"path\":\"/b.qcow2\",\"corrupt\":true,\"check\":{\"result\":\"corrupt\",\"corruptions\":7}}]}",
                InfoJobOperation.InfoReport.class);
        assertThat(ScanReport.infoDamage(bad)).contains("/a.qcow2: dirty").contains("/b.qcow2: marked corrupt")
                .contains("qemu-img check: corrupt (7 corruptions)");
    }

    /** A result as the engine publishes it reads back typed, with a field a newer engine might add. */
    @Test
    void publishedResultsReadBackTyped() throws Exception {
        InspectionReport.OperatingSystem os = new InspectionReport.OperatingSystem("/dev/sda1", "linux", "x86_64",
                "ubuntu", "Ubuntu 22.04", null, 22, 4, "deb", "apt", "db01", "ubuntu22.04", null, null, null,
                List.of(new InspectionReport.Mountpoint("/dev/sda1", "/")), List.of(), List.of(
                        new InspectionReport.Application("bash", null, null, "5.1", null, null, null, null, null, null,
                                null, null)));
        Job job = new Job("j", "inspect", List.of(new Job.Disk("/images/db.qcow2", null, null)), null, null, 600,
                Map.of(), false);
        JobResult published = JobResult.succeeded(job, JobResult.Timings.notRun(Instant.now(), Instant.now()),
                new InspectionReport(List.of(os)), 1, "e");
        com.fasterxml.jackson.databind.node.ObjectNode record = JSON.valueToTree(published);
        record.put("addedLater", 1);
        JobResult read = ScanRunner.resultReader(JSON).readValue(JSON.writeValueAsBytes(record));
        List<ScanImage> imgs = List.of(img("db.qcow2", "f1"));
        ScanReport rep = ScanReport.build(scan(), "20261125T020000Z", Instant.now(), Instant.now(), "e", imgs, 1,
                Map.of(imgs.get(0).jobId(), read), null);
        ScanReport.ImageRow row = rep.images().get(0);
        assertThat(row.status()).isEqualTo("SUCCEEDED");
        assertThat(row.operatingSystems()).containsExactly(
                new ScanReport.Os("linux", "ubuntu", "22.04", "Ubuntu 22.04", "db01", "x86_64"));
        assertThat(row.packages()).isEqualTo(1);
        assertThat(rep.summary().topPackages()).containsExactly(new ScanReport.PackageCount("bash", 1));
    }
}
