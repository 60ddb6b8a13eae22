package io.guestflow.processors.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.guestflow.pool.Drive;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.ImagePolicy;
import io.guestflow.pool.ImageProbe;
import io.guestflow.pool.RemoteHosts;
import io.guestflow.pool.RemoteImage;
import io.guestflow.processors.JobOperations;
import io.guestflow.processors.sparsify.SparsifyJobOperation;
import io.guestflow.processors.sparsify.SparsifyReport;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * In-place writes to remote disks (guestflow.pool.remote-writes), without an
 * appliance: the one decision before launch (JobExecutor.checkRemoteWrites),
 * and the overlay over a real writable NBD export (qemu-nbd on a loopback
 * port) — discarded, the export is untouched; committed, the server has the
 * changes, trims as zeroes; and the copy-mode sparsify overlay backed by the
 * export, converted into a local output.
 */
class RemoteWritesTest {
    private static final long M = 1L << 20;
    private final OperationRegistry ops = JobOperations.defaults();
    private final JobParser parser = new JobParser(ops);
    private Path dir;
    private Process nbd;

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("remote-writes");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (nbd != null) {
            nbd.destroy();
            if (!nbd.waitFor(10, TimeUnit.SECONDS)) {
                nbd.destroyForcibly().waitFor();
            }
        }
        FileTrees.delete(dir);
    }

    private Job job(String json) {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private String refusal(RemoteHosts hosts, String json) {
        Job j = job(json);
        JobRejectedException e = catchThrowableOfType(JobRejectedException.class,
                () -> JobExecutor.checkRemoteWrites(hosts, ops.get(j.type()), j));
        return e == null ? null : e.reason();
    }

    @Test
    void inPlaceWritesToRemoteDisksNeedTheSettingAndAProtocolThatWrites() {
        RemoteHosts off = RemoteHosts.parse("storage.example,cdn.example");
        RemoteHosts on = off.withWrites(true);
        String sysprep = "{\"jobId\":\"s\",\"type\":\"sysprep\",\"disks\":[{\"uri\":\"nbd://storage.example/web\",\"format\":\"raw\"}]}";
        String trim = "{\"jobId\":\"t\",\"type\":\"sparsify\",\"disks\":[{\"uri\":\"ssh://root@storage.example/vm.img\","
                + "\"format\":\"raw\"}],\"options\":{\"inPlace\":true}}";
        String seal = "{\"jobId\":\"p\",\"type\":\"pipeline\",\"disks\":[{\"uri\":\"nbd://storage.example/web\",\"format\":\"raw\"}],"
                + "\"options\":{\"steps\":[{\"type\":\"inspect\"},{\"type\":\"sysprep\"}]}}";
        String overHttp = "{\"jobId\":\"h\",\"type\":\"sysprep\",\"disks\":[{\"uri\":\"https://cdn.example/d.img?sig=s3cr3t\","
                + "\"format\":\"raw\"}]}";
        for (String j : List.of(sysprep, trim, seal)) {
            assertThat(refusal(off, j)).as(j).contains("unless guestflow.pool.remote-writes=true").contains("disks[0]");
            assertThat(refusal(on, j)).as(j).isNull();
        }
        assertThat(refusal(on, overHttp)).contains("https disks are read-only: qemu's curl driver cannot write")
                .doesNotContain("s3cr3t");
        // what only reads is never refused here: a dry run, a copy from a remote disk (over http too)
        assertThat(refusal(off, "{\"jobId\":\"d\",\"type\":\"sysprep\",\"disks\":[{\"uri\":\"https://cdn.example/d.img\","
                + "\"format\":\"raw\"}],\"options\":{\"dryRun\":true}}")).isNull();
        assertThat(refusal(off, "{\"jobId\":\"c\",\"type\":\"sparsify\",\"disks\":[{\"uri\":\"https://cdn.example/d.img\","
                + "\"format\":\"raw\"}],\"output\":{\"uri\":\"/out/d.qcow2\"}}")).isNull();
    }

    /** A 16 MiB raw disk whose first 4 MiB hold the byte 0xab, the export both tests serve. */
    private Path patternedDisk() throws Exception {
        Path disk = dir.resolve("disk.img");
        DiskOverlays.qemu("qemu-img", null, "create", "-q", "-f", "raw", disk.toString(), "16M");
        DiskOverlays.qemu("qemu-io", null, "-f", "raw", "-c", "write -P 0xab 0 4M", disk.toString());
        return disk;
    }

    @Test
    void anOverlayOverAnNbdExportWritesTheServerOnlyWhenCommitted() throws Exception {
        Path disk = patternedDisk();
        byte[] original = Files.readAllBytes(disk);
        Drive remote = serve(disk).withReadOnly(false);

        // held open (probed once) as JobExecutor.checkDisks holds a job's remote disks
        try (RemoteImage held = holdOpen(remote)) {
            assertThat(held.virtualSize()).isEqualTo(16 * M);
            overlaysOver(remote, disk, original);
        }
    }

    private void overlaysOver(Drive remote, Path disk, byte[] original) throws Exception {
        // a job that failed: its overlay got writes, then was thrown away
        Path overlayDir;
        try (DiskOverlays overlays = new DiskOverlays(List.of(remote), true)) {
            Path overlay = overlays.drives().get(0).path();
            overlayDir = overlay.getParent();
            DiskOverlays.qemu("qemu-io", null, "-f", "qcow2", "-c", "write -P 0x11 0 64k", overlay.toString());
        }
        assertThat(overlayDir).doesNotExist();
        assertThat(Files.readAllBytes(disk)).as("the export after a discarded overlay").isEqualTo(original);

        // a job that succeeded: data and a trim reach the server
        try (DiskOverlays overlays = new DiskOverlays(List.of(remote), true)) {
            Path overlay = overlays.drives().get(0).path();
            assertThat(overlays.drives().get(0).discard()).isEqualTo("enable");
            DiskOverlays.qemu("qemu-io", null, "-f", "qcow2", "-c", "write -P 0x22 5M 64k", "-c", "discard 1M 2M",
                    overlay.toString());
            overlays.commit();
        }
        Path expected = dir.resolve("expected.img");
        Files.write(expected, original);
        DiskOverlays.qemu("qemu-io", null, "-f", "raw", "-c", "write -P 0x22 5M 64k", "-c", "write -z 1M 2M",
                expected.toString());
        assertThat(DiskOverlays.qemu("qemu-img", null, "compare", "-f", "raw", "-F", "raw", disk.toString(),
                expected.toString())).contains("identical");
    }

    @Test
    void copyModeSparsifyReadsTheRemoteDiskThroughItsOverlayIntoALocalOutput() throws Exception {
        Path disk = patternedDisk();
        byte[] original = Files.readAllBytes(disk);
        Drive remote = serve(disk);
        Path output = dir.resolve("out.img"); // raw, like the input
        Job j = job("{\"jobId\":\"c\",\"type\":\"sparsify\",\"disks\":[{\"uri\":\"" + remote.uri() + "\",\"format\":\"raw\"}],"
                + "\"output\":{\"uri\":\"" + output.toUri() + "\"},\"options\":{\"tmpDir\":\"" + dir + "\"}}");
        SparsifyJobOperation op = new SparsifyJobOperation();
        Path overlay;
        try (RemoteImage held = holdOpen(remote); JobExecution e = op.prepare(j, JobExecutor.disksOf(j, op))) {
            overlay = e.drives().get(0).path();
            // backed by the remote disk's json name (nbd server and export), never by its URL
            assertThat(DiskOverlays.qemu("qemu-img", null, "info", "--output=json", overlay.toString()))
                    .contains("\"backing-filename\": \"json:{").contains("\\\"driver\\\":\\\"nbd\\\"")
                    .contains("\\\"export\\\":\\\"disk\\\"").doesNotContain("nbd://");
            // what the guest part does to the overlay (a trim), then the conversion into the output
            DiskOverlays.qemu("qemu-io", null, "-f", "qcow2", "-c", "discard 0 1M", overlay.toString());
            SparsifyReport r = (SparsifyReport) e.finish(new SparsifyReport("copy", null, null, null, List.of(), List.of()));
            assertThat(r.input().path()).isEqualTo(remote.uri().toString());
            assertThat(r.input().virtualSize()).isEqualTo(16 * M);
            assertThat(r.input().allocatedSize()).isNull();
            assertThat(r.reclaimedBytes()).isNull();
        }
        assertThat(overlay).doesNotExist();
        assertThat(Files.readAllBytes(disk)).as("the remote disk is only read").isEqualTo(original);
        Path expected = dir.resolve("expected.img");
        Files.write(expected, original);
        DiskOverlays.qemu("qemu-io", null, "-f", "raw", "-c", "write -z 0 1M", expected.toString());
        assertThat(DiskOverlays.qemu("qemu-img", null, "compare", "-f", "raw", "-F", "raw", output.toString(),
                expected.toString())).contains("identical");
    }

    /** The remote disk opened (probed once) as a job opens it, with its host allowed. */
    private static RemoteImage holdOpen(Drive remote) {
        return new ImageProbe(ImagePolicy.defaults().withRemoteHosts(RemoteHosts.parse("127.0.0.1"))).openRemote(remote, false);
    }

    /** qemu-nbd exporting {@code file} (writable) on a free loopback port; an nbd drive of it. */
    private Drive serve(Path file) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        nbd = new ProcessBuilder("qemu-nbd", "--persistent", "--shared=4", "--format=raw", "--bind=127.0.0.1",
                "--port=" + port, "--export-name=disk", file.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                break;
            } catch (IOException e) {
                assertThat(System.nanoTime()).as("qemu-nbd listens on " + port).isLessThan(deadline);
                Thread.sleep(50);
            }
        }
        return Drive.of("nbd://127.0.0.1:" + port + "/disk").withFormat("raw");
    }
}
