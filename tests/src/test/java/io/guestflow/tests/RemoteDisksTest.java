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
 *   <li>{@code inspect} of both, submitted together, shares one appliance
 *       (the guests are different) and each answer equals virt-inspector's
 *       golden XML of the same local fixture;</li>
 *   <li>a disk on a host that is not allowed is REJECTED (REMOTE_HOST_REFUSED),
 *       a sysprep of a remote disk is REJECTED, and an allowed host where
 *       nothing listens FAILS with REMOTE_UNREACHABLE after its retries — none
 *       of them launches, and the jobs after them run;</li>
 *   <li>the HTTP URL's query token reaches no result and no event.</li>
 * </ul>
 *
 * <p>Launches: 1 (the shared inspection).
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
    private HttpServer http;
    private ExecutorService httpThreads;
    private final AtomicInteger rangedGets = new AtomicInteger();
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

        engine = TestEngine.start(images, work, Map.of("guestflow.pool.remote-hosts", "127.0.0.1",
                "guestflow.engine.inspect-batch-size", "8", "guestflow.engine.job-partitions", "1",
                "guestflow.engine.max-attempts", "2", "guestflow.engine.retry-backoff-ms", "200"));

        // refusals first: none may launch, and the jobs after them must still run
        long before = launches();
        results.put("other-host", engine.run("other-host", job("other-host", "inspect",
                disk("http://127.0.0.2:" + http.getAddress().getPort() + "/blank-ext4.img?token=" + TOKEN)), TIMEOUT));
        results.put("sysprep", engine.run("sysprep", job("sysprep", "sysprep", disk(nbdUri)), TIMEOUT));
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
        jobs.put("inspect-http", job("inspect-http", "inspect", disk(httpUri)));
        engine.submitAll(jobs);
        results.putAll(engine.awaitResults(jobs.keySet(), TIMEOUT));
        inspectLaunches = launches() - before;
        engine.run("settle", job("settle", "info", local(blankRaw)), TIMEOUT); // the events of the jobs above are read by now
    }

    @AfterAll
    void stop() throws Exception {
        try {
            if (engine != null) {
                engine.close();
            }
        } finally {
            if (nbd != null) {
                nbd.destroy();
                if (!nbd.waitFor(10, TimeUnit.SECONDS)) {
                    nbd.destroyForcibly().waitFor();
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
    void remoteDisksAreNeverWrittenInPlace() {
        JsonNode r = results.get("sysprep");
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("REJECTED");
        assertThat(r.path("error").path("message").asText()).contains("never written in place").contains(nbdUri);
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
    void inspectionOverHttpAndNbdSharesOneApplianceAndMatchesVirtInspector() throws Exception {
        assertThat(inspectLaunches).as("launches of the two remote inspections").isEqualTo(1);
        JsonNode overHttp = results.get("inspect-http");
        JsonNode overNbd = results.get("inspect-nbd");
        for (JsonNode r : List.of(overHttp, overNbd)) {
            assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("SUCCEEDED");
            assertThat(r.path("batch").path("shared").asBoolean()).as(r.toString()).isTrue();
            assertThat(r.path("batch").path("guests").asInt()).isEqualTo(2);
        }
        InspectionReport debian = JSON.treeToValue(overNbd.path("output"), InspectionReport.class);
        assertThat(InspectionXml.render(debian)).isEqualTo(VirtInspector.golden(VirtInspector.Guest.DEBIAN_LVM).xml());
        assertThat(debian.operatingSystems().get(0).hostname()).isEqualTo("web01");
        InspectionReport blank = JSON.treeToValue(overHttp.path("output"), InspectionReport.class);
        assertThat(InspectionXml.render(blank)).isEqualTo(VirtInspector.golden(VirtInspector.Guest.BLANK).xml());
        assertThat(rangedGets.get()).as("ranged GETs served").isPositive();
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
                rangedGets.incrementAndGet();
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
