package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.guestflow.engine.Engine;
import io.guestflow.pool.FileTrees;
import io.guestflow.samples.SampleGuests.Image;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Tag;

/**
 * A scheduled scan end to end: the engine on a real broker fires the scan
 * from its Quartz trigger (every 5 s) over a folder with two Linux guests
 * (Debian 12, Ubuntu 22.04), a disk with no operating system, a truncated
 * qcow2, an excluded image and a file that is no image. Appliance launches:
 * 3 for the first run (the truncated image is rejected before launch),
 * 1 after one image is touched.
 */
@Tag("appliance")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ScanTest {
    private static final ObjectMapper JSON = Engine.json();
    private static final String SCAN = "scantest";

    private Path work;
    private Path images;
    private Path reports;
    private TestEngine engine;
    private final Set<Path> ownDirs = ConcurrentHashMap.newKeySet();
    private Thread ownDirsSampler;
    private JsonNode firstRun;

    @BeforeAll
    void start() throws Exception {
        ownDirsSampler = new Thread(() -> {
            // launches take tens of seconds: a sample every half second sees every appliance
            while (!Thread.currentThread().isInterrupted()) {
                sampleOwnDirs(ownDirs);
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "scan-test-own-appliances");
        ownDirsSampler.setDaemon(true);
        ownDirsSampler.start();
        work = Files.createTempDirectory("guestflow-scan-test");
        images = Files.createDirectories(work.resolve("images"));
        reports = work.resolve("reports");
        // copies (the cached fixtures are a few MB): the test touches one of them
        Files.copy(Fixtures.image(Image.DEBIAN_LVM), images.resolve("web01.qcow2"));
        Files.createDirectories(images.resolve("db"));
        Files.copy(Fixtures.image(Image.MULTIDISK_ROOT), images.resolve("db/db01.qcow2"));
        Files.copy(Fixtures.image(Image.BLANK_EXT4), images.resolve("data-disk.qcow2"));
        Path corrupt = images.resolve("broken.qcow2");
        Files.copy(Fixtures.image(Image.BLANK_EXT4), corrupt);
        try (RandomAccessFile f = new RandomAccessFile(corrupt.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        Files.copy(Fixtures.image(Image.BLANK_EXT4), images.resolve("scratch-tmp.qcow2"));
        Files.writeString(images.resolve("README.txt"), "not an image");

        engine = TestEngine.start(images, work, Map.of(
                "guestflow.engine.reports-dir", reports.toString(),
                "guestflow.scan." + SCAN + ".cron", "0/5 * * * * ?",
                "guestflow.scan." + SCAN + ".time-zone", "UTC",
                "guestflow.scan." + SCAN + ".roots", images.toString(),
                "guestflow.scan." + SCAN + ".exclude", "*-tmp.qcow2",
                "guestflow.scan." + SCAN + ".result-timeout-minutes", "20"));
    }

    @AfterAll
    void stop() throws Exception {
        if (engine != null) {
            engine.close();
        }
        // first, so that a failing check below does not leave the copies and reports behind
        FileTrees.delete(work);
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isEmpty();
        // other worktrees launch appliances at the same time, so only the directories our own qemu named count
        ownDirsSampler.interrupt();
        ownDirsSampler.join(2000);
        assertThat(ownDirs).as("the sampler saw this JVM's appliances").isNotEmpty();
        assertThat(ownDirs.stream().filter(Files::exists).toList()).as("/tmp/libguestfs* left behind").isEmpty();
    }

    /** /tmp/libguestfs* directories named on the command line of this JVM's qemu processes. */
    private static void sampleOwnDirs(Set<Path> into) {
        Pattern dir = Pattern.compile("/tmp/libguestfs[A-Za-z0-9]+");
        for (ProcessHandle p : Leftovers.qemuChildren()) {
            Matcher m = dir.matcher(io.guestflow.pool.HostInfo.commandLine(p).orElse(""));
            while (m.find()) {
                into.add(Path.of(m.group()));
            }
        }
    }

    /** Reads until a scan summary satisfying {@code want} arrives; returns it. */
    private JsonNode awaitSummary(Duration timeout, String what, Predicate<JsonNode> want) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<JsonNode> summaries = summaries();
            for (JsonNode s : summaries) {
                if (want.test(s)) {
                    return s;
                }
            }
            assertThat(System.nanoTime()).as("timed out waiting for " + what + "; summaries: " + summaries).isLessThan(deadline);
            engine.poll();
        }
    }

    /** This scan's summary records on the results topic, in the order read. */
    private List<JsonNode> summaries() {
        List<JsonNode> out = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : engine.records(engine.topics().results())) {
            if (r.key() != null && r.key().startsWith("scan-summary:" + SCAN + ":")) {
                try {
                    out.add(JSON.readTree(r.value()));
                } catch (IOException e) {
                    throw new AssertionError("unreadable summary " + r.key(), e);
                }
            }
        }
        return out;
    }

    /** The jobs the scan produced so far. */
    private List<ConsumerRecord<String, byte[]>> jobs() {
        return engine.records(engine.topics().jobs());
    }

    private List<String> jobKeys() {
        return jobs().stream().map(ConsumerRecord::key).toList();
    }

    @Test
    @Order(1)
    void firstFireRunsEveryImageOnceAndReports() throws Exception {
        firstRun = awaitSummary(Duration.ofMinutes(15), "the first run's summary", s -> s.path("jobsProduced").asInt() > 0);
        assertThat(firstRun.path("kind").asText()).isEqualTo("scan-summary");
        Path schemaFile = Path.of(System.getProperty("guestflow.repo", ".."), "config", "schemas", "scan-summary.schema.json");
        assertThat(JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(Files.readString(schemaFile))
                .validate(firstRun)).as("schema violations").isEmpty();
        assertThat(firstRun.path("imagesFound").asInt()).as(firstRun.toString()).isEqualTo(4);
        assertThat(firstRun.path("jobsProduced").asInt()).isEqualTo(4);
        assertThat(firstRun.path("newImages").asInt()).isEqualTo(4);
        assertThat(firstRun.path("succeeded").asInt()).as(firstRun.toString()).isEqualTo(2);
        assertThat(firstRun.path("failed").asInt()).isEqualTo(2);
        assertThat(firstRun.path("noResult").asInt()).isZero();
        assertThat(firstRun.path("byDistro").path("debian").asInt()).isEqualTo(1);
        assertThat(firstRun.path("byDistro").path("ubuntu").asInt()).isEqualTo(1);
        assertThat(firstRun.path("byOsType").path("linux").asInt()).isEqualTo(2);
        assertThat(firstRun.path("failuresByCode").path("NO_OS").asInt()).isEqualTo(1);
        assertThat(firstRun.path("failuresByCode").path("DISK_CORRUPT").asInt()).isEqualTo(1);
        // the run was fired by Quartz: its id is its scheduled second, a multiple of 5
        Instant scheduled = Instant.parse(firstRun.path("scheduledAt").asText());
        assertThat(scheduled.getEpochSecond() % 5).isZero();
        // every image's job produced exactly once, none for the excluded image or the text file
        engine.poll();
        assertThat(jobKeys()).hasSize(4).doesNotHaveDuplicates().allMatch(k -> k.startsWith(SCAN + "-"));
        List<String> disks = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : jobs()) {
            disks.add(JSON.readTree(r.value()).path("disks").get(0).path("uri").asText());
        }
        assertThat(disks).containsExactlyInAnyOrder(images.resolve("broken.qcow2").toString(),
                images.resolve("data-disk.qcow2").toString(), images.resolve("db/db01.qcow2").toString(),
                images.resolve("web01.qcow2").toString());

        Path dir = reports.resolve(SCAN).resolve(firstRun.path("runId").asText());
        JsonNode report = JSON.readTree(dir.resolve("report.json").toFile());
        assertThat(report.path("summary")).isEqualTo(firstRun);
        Map<String, JsonNode> rows = new HashMap<>();
        report.path("images").forEach(r -> rows.put(Path.of(r.path("path").asText()).getFileName().toString(), r));
        assertThat(rows.get("web01.qcow2").path("operatingSystems").get(0).path("hostname").asText()).isEqualTo("web01");
        assertThat(rows.get("db01.qcow2").path("operatingSystems").get(0).path("hostname").asText()).isEqualTo("db01");
        assertThat(rows.get("data-disk.qcow2").path("errorCode").asText()).isEqualTo("NO_OS");
        assertThat(rows.get("broken.qcow2").path("status").asText()).isEqualTo("REJECTED");
        assertThat(rows.get("broken.qcow2").path("errorCode").asText()).isEqualTo("DISK_CORRUPT");
        assertThat(rows.get("broken.qcow2").path("errorMessage").asText()).contains("damaged or truncated");
        List<String> csv = Files.readAllLines(dir.resolve("report.csv"), StandardCharsets.UTF_8);
        assertThat(csv).hasSize(5);
        assertThat(csv.get(0)).startsWith("path,size,modified,change,status,error_code");
        assertThat(csv.stream().filter(l -> l.contains("web01.qcow2")).findFirst().orElseThrow())
                .contains(",new,SUCCEEDED,").containsPattern(",linux,debian,12(\\.\\d+)?,");
        assertThat(csv.stream().filter(l -> l.contains("broken.qcow2")).findFirst().orElseThrow()).contains(",REJECTED,DISK_CORRUPT,");
        // the finished run left no temporary folder; a later fire (every 5 s) may be writing its own right now
        String firstRunId = firstRun.path("runId").asText();
        assertThat(Files.list(reports.resolve(SCAN)).map(p -> p.getFileName().toString()))
                .as("no temporary report folder of the finished run").noneMatch(n -> n.startsWith("." + firstRunId + "."));
    }

    @Test
    @Order(2)
    void secondFireWithNothingChangedProducesNoJob() {
        JsonNode second = awaitSummary(Duration.ofMinutes(2), "a later run",
                s -> s.path("runId").asText().compareTo(firstRun.path("runId").asText()) > 0);
        assertThat(second.path("jobsProduced").asInt()).as(second.toString()).isZero();
        assertThat(second.path("unchanged").asInt()).isEqualTo(4);
        assertThat(second.path("newImages").asInt()).isZero();
        assertThat(second.path("previousRunId").asText()).isEqualTo(firstRun.path("runId").asText());
        // the results are the first run's: the same counts without running anything
        assertThat(second.path("succeeded").asInt()).isEqualTo(2);
        assertThat(second.path("byDistro")).isEqualTo(firstRun.path("byDistro"));
        engine.poll();
        assertThat(jobKeys()).hasSize(4);
    }

    @Test
    @Order(3)
    void touchingOneImageRunsExactlyThatOne() throws Exception {
        Path web = images.resolve("web01.qcow2");
        Files.setLastModifiedTime(web, FileTime.from(Instant.now()));
        JsonNode after = awaitSummary(Duration.ofMinutes(10), "the run that sees the touched image",
                s -> s.path("changed").asInt() > 0);
        assertThat(after.path("jobsProduced").asInt()).as(after.toString()).isEqualTo(1);
        assertThat(after.path("changed").asInt()).isEqualTo(1);
        assertThat(after.path("unchanged").asInt()).isEqualTo(3);
        assertThat(after.path("succeeded").asInt()).isEqualTo(2);
        // and the run after it is quiet again
        JsonNode quiet = awaitSummary(Duration.ofMinutes(2), "the run after",
                s -> s.path("runId").asText().compareTo(after.path("runId").asText()) > 0);
        assertThat(quiet.path("jobsProduced").asInt()).isZero();
        engine.poll();
        assertThat(jobKeys()).hasSize(5).doesNotHaveDuplicates();
        JsonNode newJob = JSON.readTree(jobs().get(4).value());
        assertThat(newJob.path("disks").get(0).path("uri").asText()).isEqualTo(web.toString());
    }

    /** The first run's report in a real browser: the script built the table, the charts have their bars. */
    @Test
    @Order(4)
    void reportRendersInHeadlessChromium() throws Exception {
        Path html = reports.resolve(SCAN).resolve(firstRun.path("runId").asText()).resolve("report.html");
        String dom = Chromium.dumpDom(html, work);
        assertThat(dom).contains("data-rendered=\"true\"").contains("data-rows=\"4\"");
        assertThat(count(dom, "<figure class=\"chart")).isEqualTo(4);
        assertThat(count(dom, "<svg class=\"chart-svg\"")).isEqualTo(4);
        // OS chart: one bar per distribution version (debian 12, ubuntu 22.04)
        Matcher os = Pattern.compile("id=\"chart-os\".*?</figure>", Pattern.DOTALL).matcher(dom);
        assertThat(os.find()).isTrue();
        assertThat(count(os.group(), "<rect class=\"bar")).isEqualTo(2);
        // Debian's point release is the guest's own (/etc/debian_version); Ubuntu's is year.month
        assertThat(os.group()).containsPattern("data-label=\"debian 12(\\.\\d+)?\"").contains("data-label=\"ubuntu 22.04\"");
        // the table: four rows built by the page's script, the two failures marked with their reason
        assertThat(count(dom, "<tr class=\"image-row")).isEqualTo(4);
        assertThat(count(dom, "<tr class=\"image-row failed\"")).isEqualTo(2);
        assertThat(dom).contains("<td class=\"hostname\">web01</td>").contains("<td class=\"hostname\">db01</td>");
        assertThat(dom).containsPattern("<td class=\"os\">debian 12[^<]*</td>").contains("<td class=\"os\">ubuntu 22.04</td>");
        assertThat(dom).containsPattern("<td class=\"reason\">NO_OS: no operating system");
        assertThat(dom).containsPattern("<td class=\"reason\">DISK_CORRUPT: [^<]*damaged or truncated");
    }

    private static int count(String s, String needle) {
        int n = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    /** Headless Chromium (Debian package chromium, installed by scripts/setup). */
    static final class Chromium {
        static String dumpDom(Path html, Path scratch) throws Exception {
            Path exe = Path.of("/usr/bin/chromium");
            assertThat(exe).as("chromium is not installed: run scripts/setup (apt-get install chromium)").isExecutable();
            Path profile = Files.createTempDirectory(scratch, "chromium-profile");
            Path out = scratch.resolve("dom.html");
            Path err = scratch.resolve("chromium.err");
            Process p = new ProcessBuilder(exe.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--no-first-run", "--user-data-dir=" + profile,
                    "--dump-dom", html.toUri().toString())
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            try {
                assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("chromium finished").isTrue();
                assertThat(p.exitValue()).as("chromium exit code; stderr: " + Files.readString(err)).isZero();
                return Files.readString(out);
            } finally {
                p.destroyForcibly();
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                FileTrees.delete(profile);
            }
        }
    }
}
