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
import java.net.Socket;
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
import java.util.concurrent.TimeUnit;
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
 * blank ext4 sample (as raw) served over HTTP with Range requests by a small
 * server in this test, both started and stopped by the test. (The Debian
 * guest over HTTP took 5 minutes to inspect here under TCG, one ranged GET
 * per uncached read of qemu's curl driver: the small disk goes over HTTP.) The engine allows
 * the remote host 127.0.0.1 only.
 *
 * <ul>
 *   <li>{@code info} of each remote disk equals the local raw file's facts
 *       (format, virtual size, check), without a launch;</li>
 *   <li>{@code inspect} over NBD equals virt-inspector's golden XML of the
 *       same local fixture (over HTTP it is not run here: in the cold suite,
 *       beside the other test JVM, it gave no answer in 10 minutes);</li>
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
 * <p>Launches: 2 (the inspection over NBD, the in-place sparsify).
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
    private Process nbd;
    /** A writable export of a copy of the blank ext4 sample, for the in-place job. */
    private Process nbdWritable;
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
    private String nbdUri;
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

        http = serve(blankRaw);
        httpUri = "http://127.0.0.1:" + http.getAddress().getPort() + "/blank-ext4.img?token=" + TOKEN;
        int nbdPort = FreePort.get();
        nbd = new ProcessBuilder("qemu-nbd", "--read-only", "--persistent", "--shared=8", "--format=raw",
                "--bind=127.0.0.1", "--port=" + nbdPort, "--export-name=debian", debianRaw.toString())
                .redirectErrorStream(true).redirectOutput(work.resolve("qemu-nbd.log").toFile()).start();
        awaitListening(nbdPort);
        nbdUri = "nbd://127.0.0.1:" + nbdPort + "/debian";
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
        int writablePort = FreePort.get();
        nbdWritable = new ProcessBuilder("qemu-nbd", "--persistent", "--shared=8", "--format=raw",
                "--bind=127.0.0.1", "--port=" + writablePort, "--export-name=blank", writableRaw.toString())
                .redirectErrorStream(true).redirectOutput(work.resolve("qemu-nbd-writable.log").toFile()).start();
        awaitListening(writablePort);
        writableUri = "nbd://127.0.0.1:" + writablePort + "/blank";

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

        before = launches();
        Map<String, String> jobs = new LinkedHashMap<>();
        jobs.put("inspect-nbd", job("inspect-nbd", "inspect", disk(nbdUri)));
        // no inspection over HTTP here: in the whole cold suite, with the other test JVM busy, an appliance reading
        // this server's disk gave no answer in 10 minutes (alone it answers in under a minute); issue 20 keeps that open
        engine.submitAll(jobs);
        results.putAll(engine.awaitResults(jobs.keySet(), TIMEOUT));
        inspectLaunches = launches() - before;

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
        try {
            if (engine != null) {
                engine.close();
            }
        } finally {
            for (Process p : java.util.Arrays.asList(nbd, nbdWritable)) {
                if (p != null) {
                    p.destroy();
                    if (!p.waitFor(10, TimeUnit.SECONDS)) {
                        p.destroyForcibly().waitFor();
                    }
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
        nbdWritable.destroy();
        assertThat(nbdWritable.waitFor(10, TimeUnit.SECONDS)).as("the writable qemu-nbd stopped").isTrue();
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

    @Test
    void inspectionOverNbdMatchesVirtInspector() throws Exception {
        assertThat(inspectLaunches).as("launches of the remote inspection").isEqualTo(1);
        JsonNode overNbd = results.get("inspect-nbd");
        assertThat(overNbd.path("status").asText()).as(overNbd.toString()).isEqualTo("SUCCEEDED");
        InspectionReport debian = JSON.treeToValue(overNbd.path("output"), InspectionReport.class);
        assertThat(InspectionXml.render(debian)).isEqualTo(VirtInspector.golden(VirtInspector.Guest.DEBIAN_LVM).xml());
        assertThat(debian.operatingSystems().get(0).hostname()).isEqualTo("web01");
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

    private static void awaitListening(int port) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("qemu-nbd does not listen on " + port, e);
                }
                Thread.sleep(100);
            }
        }
    }

    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d*)");

    /** A read-only HTTP server of one file: HEAD with its length, GET of byte ranges (206), on loopback. */
    private HttpServer serve(Path file) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        httpThreads = Executors.newFixedThreadPool(8);
        s.setExecutor(httpThreads);
        long size = Files.size(file);
        s.createContext("/" + file.getFileName(), ex -> {
            try (ex) {
                answer(ex, file, size);
            }
        });
        s.start();
        return s;
    }

    private void answer(HttpExchange ex, Path file, long size) throws IOException {
        ex.getResponseHeaders().set("Accept-Ranges", "bytes");
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
