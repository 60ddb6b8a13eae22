package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.QemuImgRun;
import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.processors.inspect.InspectionXml;
import io.guestflow.samples.SampleGuests.Image;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Remote disks through the engine, for real: the Debian LVM sample (as raw)
 * exported read-only over NBD by {@code qemu-nbd} on a loopback port, and the
 * same file and the blank ext4 sample (as raw) served over HTTP with Range
 * requests by a small server in this test (a thread pool), all started and
 * stopped by the test. The engine allows the remote host 127.0.0.1 only.
 * Every remote disk is read through a local overlay whose json backing names
 * the URL (RemoteImage): no qemu, qemu-img or qemu-io command line seen
 * during the test holds a remote URL or the HTTP token.
 *
 * <ul>
 *   <li>{@code info} of each remote disk equals the local raw file's facts
 *       (format, virtual size, check), without a launch;</li>
 *   <li>one pipeline (inspect, journal, copy-mode sparsify) of the Debian
 *       guest over HTTP and the same pipeline over NBD, at the same time: both
 *       inspections equal virt-inspector's golden XML of the local fixture,
 *       the journal reports and the sparsify reports' filesystems are equal,
 *       and the two sparsified outputs are as large and as allocated (within
 *       1 MiB: trimming writes each superblock's times), smaller than the
 *       guest;</li>
 *   <li>with {@code guestflow.pool.remote-writes}, an in-place sparsify of a
 *       writable NBD export (a copy of the blank sample with a deleted file's
 *       data in its free space) commits its trims to the server: that data is
 *       gone from the exported file, its file intact (read with debugfs);</li>
 *   <li>a disk on a host that is not allowed is REJECTED (REMOTE_HOST_REFUSED),
 *       a sysprep of an http disk is REJECTED (qemu's curl driver is read-only), and an allowed host where
 *       nothing listens FAILS with REMOTE_UNREACHABLE after its retries — none
 *       of them launches, and the jobs after them run;</li>
 *   <li>the HTTP URL's query token reaches no result and no event.</li>
 * </ul>
 *
 * <p>Launches: 3 (the pipeline over HTTP, the pipeline over NBD, the in-place sparsify).
 */
@Tag("appliance")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RemoteDisksTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofMinutes(10);
    private static final String TOKEN = "tok3n-8d1f0c2b";

    private Path work;
    private List<Path> tmpBefore;
    private TestEngine engine;
    private NbdExport nbd;
    /** A writable export of a copy of the blank ext4 sample, for the in-place job. */
    private NbdExport nbdWritable;
    private Path writableRaw;
    private String writableUri;
    private long trimLaunches;
    private long trimSeconds;
    private String readmeBefore;
    private List<Path> overlayDirsBefore;
    private List<Path> overlayDirsAfter;
    private HttpServer http;
    private ExecutorService httpThreads;
    private final AtomicInteger heads = new AtomicInteger();
    private Path debianRaw;
    private Path blankRaw;
    private String httpUri;
    private String httpDebianUri;
    private String nbdUri;
    private final Map<String, Long> pipelineSeconds = new LinkedHashMap<>();
    private io.guestflow.pool.QemuCommandLines cmdlineWatch;
    private List<Path> remoteDirsBefore;
    private int deadPort;
    private final Map<String, JsonNode> results = new LinkedHashMap<>();
    private long refusalLaunches;
    private long inspectLaunches;

    @BeforeAll
    void serveAndRun() throws Exception {
        tmpBefore = Leftovers.libguestfsTmpDirs();
        work = Files.createTempDirectory("guestflow-remote-test-");
        Path images = Files.createDirectories(work.resolve("images"));
        debianRaw = images.resolve("debian-lvm.img");
        blankRaw = images.resolve("blank-ext4.img");
        QemuImgRun.qemuImg("convert", "-O", "raw", Fixtures.image(Image.DEBIAN_LVM).toString(), debianRaw.toString());
        QemuImgRun.qemuImg("convert", "-O", "raw", Fixtures.image(Image.BLANK_EXT4).toString(), blankRaw.toString());

        http = serve(blankRaw, debianRaw);
        httpUri = "http://127.0.0.1:" + http.getAddress().getPort() + "/blank-ext4.img?token=" + TOKEN;
        httpDebianUri = "http://127.0.0.1:" + http.getAddress().getPort() + "/debian-lvm.img?token=" + TOKEN;
        remoteDirsBefore = remoteDirs();
        cmdlineWatch = io.guestflow.pool.QemuCommandLines.watch();
        nbd = NbdExport.start(debianRaw, "raw", true, "debian", work.resolve("qemu-nbd.log"));
        nbdUri = nbd.uri();
        deadPort = FreePort.get();

        // the writable export: the blank ext4 guest with a deleted file's data (a marker) left in its free space
        writableRaw = images.resolve("blank-ext4-writable.img");
        Files.copy(blankRaw, writableRaw);
        Path marker = work.resolve("marker.txt");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 20000; i++) {
            lines.append(MARK).append(i).append('\n');
        }
        Files.writeString(marker, lines);
        debugfs(true, "write " + marker + " marker");
        debugfs(true, "rm marker");
        readmeBefore = debugfs(false, "cat /README.txt");
        assertThat(markers()).as("deleted data in the free space before").isEqualTo(20000);
        nbdWritable = NbdExport.start(writableRaw, "raw", false, "blank", work.resolve("qemu-nbd-writable.log"));
        writableUri = nbdWritable.uri();

        engine = TestEngine.start(images, work, Map.of("guestflow.pool.remote-hosts", "127.0.0.1",
                "guestflow.pool.remote-writes", "true",
                "guestflow.engine.inspect-batch-size", "8", "guestflow.engine.job-partitions", "1",
                "guestflow.engine.max-attempts", "2", "guestflow.engine.retry-backoff-ms", "200"));

        // refusals first: none may launch, and the jobs after them must still run
        long before = launches();
        results.put("other-host", engine.run("other-host", job("other-host", "inspect",
                disk("http://127.0.0.2:" + http.getAddress().getPort() + "/blank-ext4.img?token=" + TOKEN)), TIMEOUT));
        results.put("sysprep", engine.run("sysprep", job("sysprep", "sysprep", disk(httpUri)), TIMEOUT));
        results.put("refused", engine.run("refused", job("refused", "inspect",
                disk("nbd://127.0.0.1:" + deadPort + "/debian")), TIMEOUT));
        results.put("info-local", engine.run("info-local", job("info-local", "info", local(blankRaw), local(debianRaw)),
                TIMEOUT));
        results.put("info-remote", engine.run("info-remote", job("info-remote", "info", disk(httpUri), disk(nbdUri)),
                TIMEOUT));
        refusalLaunches = launches() - before;

        // the read-only operations from remote sources, one launch per protocol: inspect, journal, copy sparsify
        before = launches();
        Map<String, String> jobs = new LinkedHashMap<>();
        jobs.put("read-http", readPipeline("read-http", httpDebianUri));
        jobs.put("read-nbd", readPipeline("read-nbd", nbdUri));
        engine.submitAll(jobs);
        results.putAll(engine.awaitResults(jobs.keySet(), TIMEOUT));
        inspectLaunches = launches() - before;
        for (String id : jobs.keySet()) {
            JsonNode t = results.get(id).path("timings");
            pipelineSeconds.put(id, (t.path("launchMillis").asLong() + t.path("runMillis").asLong()) / 1000);
        }
        System.out.println("RemoteDisksTest: read pipelines (launch + run, s) " + pipelineSeconds + ", timings "
                + results.get("read-http").path("timings") + " / " + results.get("read-nbd").path("timings"));

        // the in-place job on the writable export: trims on an overlay, committed to the server
        before = launches();
        overlayDirsBefore = overlayDirs();
        long t0 = System.nanoTime();
        results.put("trim-nbd", engine.run("trim-nbd", "{\"jobId\":\"trim-nbd\",\"type\":\"sparsify\",\"disks\":["
                + disk(writableUri) + "],\"options\":{\"inPlace\":true},\"timeoutSeconds\":900}", TIMEOUT));
        trimSeconds = (System.nanoTime() - t0) / 1_000_000_000;
        trimLaunches = launches() - before;
        overlayDirsAfter = overlayDirs();
        engine.run("settle", job("settle", "info", local(blankRaw)), TIMEOUT); // the events of the jobs above are read by now
    }

    @AfterAll
    void stop() throws Exception {
        if (cmdlineWatch != null) {
            cmdlineWatch.close();
        }
        try {
            if (engine != null) {
                engine.close();
            }
        } finally {
            for (NbdExport e : java.util.Arrays.asList(nbd, nbdWritable)) {
                if (e != null) {
                    e.close();
                }
            }
            if (http != null) {
                http.stop(0);
                httpThreads.shutdownNow();
            }
            if (work != null) {
                FileTrees.delete(work);
            }
        }
        assertThat(nbd == null || !nbd.isAlive()).as("qemu-nbd stopped").isTrue();
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isEmpty();
        Leftovers.assertNoLibguestfsDirsLeft(tmpBefore);
    }

    private long launches() {
        return engine.engine().pool().metrics().launches();
    }

    @Test
    void aHostThatIsNotAllowedIsRejectedBeforeAnythingOpensIt() {
        JsonNode r = results.get("other-host");
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("REJECTED");
        assertThat(r.path("error").path("code").asText()).isEqualTo("REMOTE_HOST_REFUSED");
        assertThat(r.path("error").path("message").asText()).contains("names host 127.0.0.2:")
                .contains("guestflow.pool.remote-hosts: 127.0.0.1");
        assertThat(refusalLaunches).as("launches for refusals and info jobs").isZero();
    }

    @Test
    void httpDisksAreNeverWrittenInPlace() {
        JsonNode r = results.get("sysprep");
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("REJECTED");
        assertThat(r.path("error").path("message").asText()).contains("qemu's curl driver cannot write")
                .contains(httpUri.substring(0, httpUri.indexOf('?')));
    }

    /**
     * With guestflow.pool.remote-writes, an in-place sparsify of an NBD disk:
     * its trims reach the server's file only through the commit, and after
     * the server stopped the deleted data in the free space is gone while the
     * filesystem's file is intact; nothing of the overlay is left behind.
     */
    @Test
    void anInPlaceJobOnAnNbdDiskCommitsToTheServer() throws Exception {
        JsonNode r = results.get("trim-nbd");
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("SUCCEEDED");
        assertThat(trimLaunches).isEqualTo(1);
        System.out.println("RemoteDisksTest: in-place sparsify over NBD took " + trimSeconds + " s, launch included");
        JsonNode out = r.path("output");
        assertThat(out.path("input").path("path").asText()).isEqualTo(writableUri);
        assertThat(out.path("input").has("allocatedSize")).as("only the server knows it").isFalse();
        assertThat(out.path("filesystems").toString()).contains("TRIMMED");
        nbdWritable.close();
        assertThat(nbdWritable.isAlive()).as("the writable qemu-nbd stopped").isFalse();
        assertThat(markers()).as("deleted data left in the free space after the commit").isZero();
        assertThat(debugfs(false, "cat /README.txt")).isEqualTo(readmeBefore).isNotBlank();
        assertThat(overlayDirsAfter).as("overlay folders left by the job").isEqualTo(overlayDirsBefore);
    }

    private static List<Path> overlayDirs() throws IOException {
        try (var s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("guestflow-overlays-")).sorted().toList();
        }
    }

    private static final String MARK = "GUESTFLOW-REMOTE-WRITE-MARK-";

    /** Lines of the marker in the writable image's bytes. */
    private long markers() throws IOException {
        byte[] all = Files.readAllBytes(writableRaw);
        String text = new String(all, StandardCharsets.ISO_8859_1);
        long n = 0;
        for (int i = text.indexOf(MARK); i >= 0; i = text.indexOf(MARK, i + 1)) {
            n++;
        }
        return n;
    }

    /** debugfs on the writable image's first partition (its start from the MBR), no appliance. */
    private String debugfs(boolean write, String command) throws Exception {
        long start;
        try (FileChannel ch = FileChannel.open(writableRaw, StandardOpenOption.READ)) {
            ByteBuffer mbr = ByteBuffer.allocate(512).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            ch.read(mbr, 0);
            start = (mbr.getInt(446 + 8) & 0xffffffffL) * 512;
        }
        List<String> cmd = new java.util.ArrayList<>(List.of("debugfs"));
        if (write) {
            cmd.add("-w");
        }
        cmd.addAll(List.of("-R", command, writableRaw + "?offset=" + start));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(String.join(" ", cmd)).isZero();
        return out;
    }

    @Test
    void anAllowedHostThatRefusesConnectionsFailsClearlyAndRetries() {
        JsonNode r = results.get("refused");
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("FAILED");
        assertThat(r.path("error").path("code").asText()).isEqualTo("REMOTE_UNREACHABLE");
        assertThat(r.path("error").path("retryable").asBoolean()).isTrue();
        assertThat(r.path("error").path("message").asText()).contains("127.0.0.1:" + deadPort).contains("refused");
        assertThat(r.path("attempts").asInt()).isEqualTo(2);
    }

    @Test
    void infoOfRemoteDisksEqualsTheLocalFiles() {
        JsonNode local = results.get("info-local");
        JsonNode remote = results.get("info-remote");
        assertThat(local.path("status").asText()).as(local.toString()).isEqualTo("SUCCEEDED");
        assertThat(remote.path("status").asText()).as(remote.toString()).isEqualTo("SUCCEEDED");
        for (int i = 0; i < 2; i++) {
            ObjectNode l = (ObjectNode) local.path("output").path("disks").get(i).deepCopy();
            ObjectNode r = (ObjectNode) remote.path("output").path("disks").get(i).deepCopy();
            // the URI, its query masked
            assertThat(r.path("path").asText()).isEqualTo(i == 0 ? httpUri.substring(0, httpUri.indexOf('?')) + "?***" : nbdUri);
            // what only a host file has: its path, its allocation on this host's filesystem, and the dirty flag
            // that qemu-img reports for a local raw file (always false) and not over http or nbd
            l.remove(List.of("path", "allocatedSize", "dirty"));
            r.remove(List.of("path", "allocatedSize", "dirty"));
            assertThat(r).as("disk " + i).isEqualTo(l);
            assertThat(r.path("virtualSize").asLong()).isPositive();
        }
        assertThat(heads.get()).as("HEAD requests").isPositive();
    }

    /**
     * The pipeline inspect + journal + copy sparsify over HTTP and over NBD,
     * one launch each: both inspections are virt-inspector's golden answer for
     * the local fixture, the journal steps report the same, and the two
     * outputs are as allocated (within 1 MiB), smaller than the guest.
     */
    @Test
    void readOperationsOverHttpAndNbdMatchVirtInspectorAndEachOther() throws Exception {
        assertThat(inspectLaunches).as("launches of the two remote pipelines").isEqualTo(2);
        String golden = VirtInspector.golden(VirtInspector.Guest.DEBIAN_LVM).xml();
        Map<String, JsonNode> steps = new LinkedHashMap<>();
        for (String id : List.of("read-http", "read-nbd")) {
            JsonNode r = results.get(id);
            assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("SUCCEEDED");
            JsonNode s = r.path("output").path("steps");
            assertThat(s.size()).as(id).isEqualTo(3);
            InspectionReport debian = JSON.treeToValue(s.get(0).path("output"), InspectionReport.class);
            assertThat(InspectionXml.render(debian)).as(id + " inspection").isEqualTo(golden);
            steps.put(id, s);
        }
        assertThat(steps.get("read-http").get(1).path("output")).as("journal step over HTTP and over NBD")
                .isEqualTo(steps.get("read-nbd").get(1).path("output"));
        assertThat(steps.get("read-http").get(1).path("output").path("guests").size()).as("journal step's guests")
                .isEqualTo(1);
        // not byte for byte: sparsify mounts each filesystem to trim it, which writes its superblock's times
        long httpAllocated = steps.get("read-http").get(2).path("output").path("output").path("allocatedSize").asLong();
        long nbdAllocated = steps.get("read-nbd").get(2).path("output").path("output").path("allocatedSize").asLong();
        assertThat(httpAllocated).as("the sparsified copies' allocation over HTTP and over NBD")
                .isCloseTo(nbdAllocated, org.assertj.core.data.Offset.offset(1L << 20));
        for (String id : List.of("read-http", "read-nbd")) {
            JsonNode sp = steps.get(id).get(2).path("output");
            assertThat(sp.path("mode").asText()).isEqualTo("copy");
            assertThat(sp.path("input").path("virtualSize").asLong()).isEqualTo(Files.size(debianRaw));
            assertThat(sp.path("input").has("allocatedSize")).as("only the server knows it").isFalse();
            assertThat(sp.path("output").path("allocatedSize").asLong()).as(id + " output allocation")
                    .isPositive().isLessThan(Files.size(debianRaw));
            assertThat(Files.size(work.resolve("out/" + id + ".img"))).isEqualTo(Files.size(debianRaw));
        }
        assertThat(steps.get("read-http").get(2).path("output").path("filesystems"))
                .isEqualTo(steps.get("read-nbd").get(2).path("output").path("filesystems"));
    }

    /**
     * No qemu, qemu-img or qemu-io command line during the jobs named a
     * remote disk: qemu and its tools opened every one by its local overlay.
     */
    @Test
    void noCommandLineNamesARemoteDisk() throws Exception {
        java.util.Set<String> cmdlines = cmdlineWatch.seen();
        assertThat(cmdlines).as("qemu command lines seen").isNotEmpty()
                .anySatisfy(c -> assertThat(c).contains("guestflow-remote-"));
        assertThat(cmdlines).allSatisfy(c -> assertThat(c).doesNotContain(TOKEN).doesNotContain("http://")
                .doesNotContain("nbd://").doesNotContain("127.0.0.1:" + http.getAddress().getPort()));
        assertThat(remoteDirs()).as("remote overlay folders left by the jobs").isSubsetOf(remoteDirsBefore);
    }

    private static List<Path> remoteDirs() throws IOException {
        try (var s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith("guestflow-remote-")
                    && !p.getFileName().toString().startsWith("guestflow-remote-test-")).sorted().toList();
        }
    }

    /** inspect, journal and copy-mode sparsify of one remote disk into out/ID.img (raw, like the input). */
    private String readPipeline(String id, String uri) {
        return "{\"jobId\":\"" + id + "\",\"type\":\"pipeline\",\"disks\":[" + disk(uri) + "],\"output\":{\"uri\":\""
                + work.resolve("out/" + id + ".img").toUri() + "\",\"format\":\"raw\"},\"options\":{\"steps\":[{\"type\":\"inspect\"},{\"type\":\"journal\"},"
                + "{\"type\":\"sparsify\"}]},\"timeoutSeconds\":900}";
    }

    @Test
    void theUrlsTokenReachesNoResultAndNoEvent() {
        for (ConsumerRecord<String, byte[]> rec : engine.seen()) {
            if (rec.topic().equals(engine.topics().jobs())) {
                continue; // our own jobs carry it
            }
            assertThat(new String(rec.value(), StandardCharsets.UTF_8)).as(rec.topic() + " " + rec.key())
                    .doesNotContain(TOKEN);
        }
        assertThat(engine.records(engine.topics().log())).isNotEmpty();
    }

    private static String job(String id, String type, String... disks) {
        return "{\"jobId\":\"" + id + "\",\"type\":\"" + type + "\",\"disks\":[" + String.join(",", disks)
                + "],\"timeoutSeconds\":900}";
    }

    private static String disk(String uri) {
        return "{\"uri\":\"" + uri + "\",\"format\":\"raw\"}";
    }

    private static String local(Path p) {
        return "{\"uri\":\"" + p.toUri() + "\",\"format\":\"raw\"}";
    }


    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d*)");

    /**
     * A read-only HTTP server of files: HEAD with its length, GET of byte
     * ranges (206), on loopback, answered by a pool of threads (qemu's curl
     * driver keeps several requests in flight), each on its own connection.
     */
    private HttpServer serve(Path... files) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        httpThreads = Executors.newFixedThreadPool(16);
        s.setExecutor(httpThreads);
        for (Path file : files) {
            long size = Files.size(file);
            s.createContext("/" + file.getFileName(), ex -> {
                try (ex) {
                    answer(ex, file, size);
                }
            });
        }
        s.start();
        return s;
    }

    private void answer(HttpExchange ex, Path file, long size) throws IOException {
        ex.getResponseHeaders().set("Accept-Ranges", "bytes");
        // one request per connection: qemu 7.2's curl driver loses requests on reused keep-alive connections when
        // many are in flight (qemu-io with 64 parallel reads: about 41 answered against this server or Python's
        // HTTP/1.1 one, all 64 when each connection closes); README, Remote disks, known problem
        ex.getResponseHeaders().set("Connection", "close");
        switch (ex.getRequestMethod()) {
            case "HEAD" -> {
                heads.incrementAndGet();
                ex.getResponseHeaders().set("Content-Length", Long.toString(size));
                ex.sendResponseHeaders(200, -1);
            }
            case "GET" -> {
                String range = ex.getRequestHeaders().getFirst("Range");
                Matcher m = range == null ? null : RANGE.matcher(range.strip());
                if (m == null || !m.matches()) {
                    // qemu's curl driver only reads ranges; a whole-image GET is not what it should do
                    ex.sendResponseHeaders(416, -1);
                    return;
                }
                long start = Long.parseLong(m.group(1));
                long end = m.group(2).isEmpty() ? size - 1 : Math.min(Long.parseLong(m.group(2)), size - 1);
                if (start > end) {
                    ex.getResponseHeaders().set("Content-Range", "bytes */" + size);
                    ex.sendResponseHeaders(416, -1);
                    return;
                }
                long length = end - start + 1;
                ex.getResponseHeaders().set("Content-Range", "bytes " + start + "-" + end + "/" + size);
                ex.sendResponseHeaders(206, length);
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); OutputStream out = ex.getResponseBody()) {
                    ByteBuffer buf = ByteBuffer.allocate(1 << 16);
                    long pos = start;
                    while (pos <= end) {
                        buf.clear().limit((int) Math.min(buf.capacity(), end - pos + 1));
                        int n = ch.read(buf, pos);
                        if (n < 0) {
                            break;
                        }
                        out.write(buf.array(), 0, n);
                        pos += n;
                    }
                }
            }
            default -> ex.sendResponseHeaders(405, -1);
        }
    }
}
