package io.guestflow.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Remote disks through their local overlay, against a real qemu-img and a
 * real HTTP server (no appliance): the json backing name, the placeholder
 * that keeps a pre-signed URL's token off every command line, one probe
 * while the disk is held open, and the private folder gone after.
 */
class RemoteImageTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "X-Amz-Signature=0123456789abcdef&X-Amz-Expires=600";

    @Test
    void theBackingNameCarriesTheDriverOptionsAndThePlaceholderNothingOfTheUrl() throws Exception {
        Drive https = Drive.of("https://cdn.example:8443/img/d.img?" + TOKEN).withFormat("raw");
        String real = RemoteImage.backingName(https, false, 90);
        String shown = RemoteImage.placeholder(real);
        assertThat(real).startsWith("json:");
        JsonNode file = JSON.readTree(real.substring(5)).path("file");
        assertThat(file.path("driver").asText()).isEqualTo("https");
        assertThat(file.path("url").asText()).isEqualTo("https://cdn.example:8443/img/d.img?" + TOKEN);
        assertThat(file.path("timeout").asInt()).isEqualTo(90);
        assertThat(file.path("readahead").asInt()).isEqualTo(RemoteImage.READAHEAD);
        assertThat(shown).hasSameSizeAs(real).matches("x+");
        assertThat(shown.getBytes(StandardCharsets.UTF_8)).hasSameSizeAs(real.getBytes(StandardCharsets.UTF_8));

        JsonNode nbd = JSON.readTree(RemoteImage.backingName(Drive.of("nbd://[fd00::5]/exp").withFormat("raw"), false, 60)
                .substring(5)).path("file");
        assertThat(nbd.path("server").path("host").asText()).isEqualTo("fd00::5");
        assertThat(nbd.path("server").path("port").asText()).isEqualTo("10809");
        assertThat(nbd.path("export").asText()).isEqualTo("exp");

        // a remote qcow2: a raw node over it, and its backing file never opened unless backing files are allowed
        JsonNode q = JSON.readTree(RemoteImage.backingName(Drive.of("nbd://h/e").withFormat("qcow2"), false, 60)
                .substring(5));
        assertThat(q.path("driver").asText()).isEqualTo("raw");
        assertThat(q.path("file").path("driver").asText()).isEqualTo("qcow2");
        assertThat(q.path("file").has("backing")).isTrue();
        assertThat(q.path("file").path("backing").isNull()).isTrue();
        assertThat(JSON.readTree(RemoteImage.backingName(Drive.of("nbd://h/e").withFormat("qcow2"), true, 60)
                .substring(5)).path("file").has("backing")).isFalse();
    }

    /**
     * An http disk behind a pre-signed URL: probed once through the overlay
     * while held open, every qemu-img command line free of the token (read
     * from /proc while they run), the overlay reading the server's bytes, and
     * the private folder deleted by the last close.
     */
    @Test
    void anHttpDiskIsProbedOnceThroughItsOverlayWithTheTokenOnNoCommandLine(@TempDir Path dir) throws Exception {
        Path disk = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(8 << 20);
            f.seek(3 << 20);
            f.write("remote bytes".getBytes(StandardCharsets.US_ASCII));
        }
        List<String> requests = new CopyOnWriteArrayList<>();
        HttpServer server = rangeServer(disk, requests);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        server.setExecutor(pool);
        server.start();
        QemuCommandLines watcher = QemuCommandLines.watch();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/disk.img?" + TOKEN;
            ImageProbe probe = new ImageProbe(ImagePolicy.defaults().withRemoteHosts(RemoteHosts.parse("127.0.0.1")));
            Drive remote = Drive.of(url).withFormat("raw");
            Path overlay;
            try (RemoteImage first = probe.openRemote(remote, false)) {
                int afterProbe = requests.size();
                assertThat(afterProbe).as("the probe reached the server").isPositive();
                assertThat(first.virtualSize()).isEqualTo(8 << 20);
                overlay = first.overlay();
                assertThat(Files.getPosixFilePermissions(overlay.getParent()))
                        .containsExactlyInAnyOrderElementsOf(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
                assertThat(overlay.getParent().getFileName().toString()).matches("guestflow-remote-\\d+");
                try (RemoteImage again = probe.openRemote(remote, false); RemoteImage held = RemoteImage.held(remote)) {
                    assertThat(again).isSameAs(first).isSameAs(held);
                    assertThat(requests).as("held open: no second probe").hasSize(afterProbe);
                }
                // the overlay reads the server's bytes (qemu-io opens it by its path alone)
                Subprocess.Result read = Subprocess.run(List.of("qemu-io", "-r", "-f", "qcow2", "-c",
                        "read -P 0 0 1M", "-c", "read -v 3145728 12", overlay.toString()), java.time.Duration.ofSeconds(60));
                assertThat(read.exitCode()).as(read.stderr()).isZero();
                assertThat(read.stdout()).contains("72 65 6d 6f 74 65 20 62 79 74 65 73  remote.bytes");
                assertThat(String.join("\n", requests)).contains("sig-ok");
                // the owned overlay passes the vetting of our own overlays
                assertThat(probe.resolveOwned(first.drive()).format()).isEqualTo("qcow2");
            }
            assertThat(overlay.getParent()).as("the last close deletes the private folder").doesNotExist();
            assertThat(RemoteImage.held(remote)).isNull();
        } finally {
            watcher.close();
            server.stop(0);
            pool.shutdownNow();
        }
        java.util.Set<String> cmdlines = watcher.seen();
        assertThat(cmdlines).as("qemu-img/qemu-io command lines seen while the test ran").isNotEmpty();
        assertThat(cmdlines).allSatisfy(c -> assertThat(c).doesNotContain("0123456789abcdef").doesNotContain("Signature")
                .doesNotContain("http://").doesNotContain("disk.img"));
    }

    /**
     * A remote qcow2 whose header names a backing file or an external data file is refused before any overlay
     * of it exists (its overlays never open the backing, so it would otherwise be read silently without it);
     * one that names nothing is accepted. Real qemu-img images, served over HTTP.
     */
    @Test
    void aRemoteQcow2NamingAHostFileIsRefused(@TempDir Path dir) throws Exception {
        Path plain = dir.resolve("plain.qcow2");
        Path backed = dir.resolve("backed.qcow2");
        Path dataFile = dir.resolve("datafile.qcow2");
        run("qemu-img", "create", "-q", "-f", "qcow2", plain.toString(), "8M");
        run("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "raw", "-b", "/etc/shadow", backed.toString(), "8M");
        run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "data_file=" + dir.resolve("data.raw"), dataFile.toString(), "8M");
        ImageProbe probe = new ImageProbe(ImagePolicy.defaults().withAllowed(java.util.Set.of("remote-images"))
                .withRemoteHosts(RemoteHosts.parse("127.0.0.1")));
        long before = countRemoteDirs();
        for (Path image : List.of(plain, backed, dataFile)) {
            HttpServer server = rangeServer(image, new CopyOnWriteArrayList<>());
            server.start();
            try {
                Drive remote = Drive.of("http://127.0.0.1:" + server.getAddress().getPort() + "/" + image.getFileName()
                        + "?" + TOKEN).withFormat("qcow2");
                if (image == plain) {
                    try (RemoteImage r = probe.openRemote(remote, false)) {
                        assertThat(r.virtualSize()).isEqualTo(8 << 20);
                    }
                    continue;
                }
                GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> probe.openRemote(remote, false));
                assertThat(e).as(image.getFileName().toString()).isNotNull();
                assertThat(e.code()).isEqualTo(ErrorCode.BACKING_FILE_REFUSED);
                assertThat(e.getMessage()).contains(image == backed ? "a backing file" : "an external data file")
                        .doesNotContain("0123456789abcdef");
            } finally {
                server.stop(0);
            }
        }
        assertThat(countRemoteDirs()).as("no overlay folder left").isEqualTo(before);
    }


    private static void run(String... cmd) throws Exception {
        Subprocess.Result r = Subprocess.run(List.of(cmd), java.time.Duration.ofSeconds(60));
        assertThat(r.exitCode()).as(r.stderr()).isZero();
    }

    /** A server that refuses (a wrong or expired token): REMOTE_UNREACHABLE, token masked, nothing left behind. */
    @Test
    void aRefusingServerIsUnreachableAndLeavesNoFolder(@TempDir Path dir) throws Exception {
        Path disk = dir.resolve("disk.img");
        Files.write(disk, new byte[1 << 20]);
        HttpServer server = rangeServer(disk, new CopyOnWriteArrayList<>());
        server.start();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/disk.img?X-Amz-Signature=wrongwrong";
            ImageProbe probe = new ImageProbe(ImagePolicy.defaults().withRemoteHosts(RemoteHosts.parse("127.0.0.1")));
            long before = countRemoteDirs();
            GuestflowException e = catchThrowableOfType(GuestflowException.class,
                    () -> probe.openRemote(Drive.of(url).withFormat("raw"), false));
            assertThat(e.code()).isEqualTo(ErrorCode.REMOTE_UNREACHABLE);
            assertThat(e.getMessage()).doesNotContain("wrongwrong").contains("cannot be opened");
            assertThat(countRemoteDirs()).isEqualTo(before);
        } finally {
            server.stop(0);
        }
    }

    private static long countRemoteDirs() throws Exception {
        try (var s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(p -> p.getFileName().toString().startsWith(RemoteImage.DIR_PREFIX)).count();
        }
    }

    /** Serves {@code disk} with HEAD and byte ranges, only to URLs with the right token. */
    static HttpServer rangeServer(Path disk, List<String> requests) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        Pattern range = Pattern.compile("bytes=(\\d+)-(\\d*)");
        server.createContext("/", ex -> {
            boolean ok = TOKEN.equals(ex.getRequestURI().getRawQuery());
            requests.add(ex.getRequestMethod() + " " + ex.getRequestHeaders().getFirst("Range") + (ok ? " sig-ok" : ""));
            if (!ok) {
                ex.sendResponseHeaders(403, -1);
                ex.close();
                return;
            }
            long size = Files.size(disk);
            long start = 0;
            long end = size - 1;
            String r = ex.getRequestHeaders().getFirst("Range");
            Matcher m = r == null ? null : range.matcher(r);
            boolean partial = m != null && m.matches();
            if (partial) {
                start = Long.parseLong(m.group(1));
                end = m.group(2).isEmpty() ? end : Math.min(end, Long.parseLong(m.group(2)));
                ex.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + end + "/" + size);
            }
            ex.getResponseHeaders().add("Accept-Ranges", "bytes");
            long len = end - start + 1;
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().add("Content-Length", String.valueOf(len));
                ex.sendResponseHeaders(partial ? 206 : 200, -1);
                ex.close();
                return;
            }
            ex.sendResponseHeaders(partial ? 206 : 200, len);
            try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "r"); OutputStream o = ex.getResponseBody()) {
                byte[] buf = new byte[64 << 10];
                f.seek(start);
                while (len > 0) {
                    int n = f.read(buf, 0, (int) Math.min(buf.length, len));
                    if (n < 0) {
                        break;
                    }
                    o.write(buf, 0, n);
                    len -= n;
                }
            }
        });
        return server;
    }
}
