package io.guestflow.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static io.guestflow.pool.QemuImgRun.qemuImg;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image policy on images built with qemu-img: what an image may make
 * qemu open (backing chain, qcow2 data file, VMDK extents) must be a regular
 * file under the root, and the allowlist decides formats and features. Files
 * outside the root are FIFOs where it matters, so a test can tell whether
 * anything opened them.
 */
class ImageProbePolicyTest {
    @TempDir
    Path tmp;
    Path root;
    Path outside;
    ImageProbe probe;

    @BeforeEach
    void setUp() throws IOException {
        root = Files.createDirectories(tmp.resolve("images"));
        outside = Files.createDirectories(tmp.resolve("elsewhere"));
        probe = new ImageProbe(ImagePolicy.defaults().withRoot(root));
    }

    private Path qcow2(String name) throws Exception {
        Path p = root.resolve(name);
        qemuImg("create", "-q", "-f", "qcow2", p.toString(), "1M");
        return p;
    }

    private GuestflowException refused(Path image, boolean allowBacking) {
        GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> probe.inspect(image, null, allowBacking));
        assertThat(e).as("%s should be refused", image).isNotNull();
        return e;
    }

    @Test
    void plainImagesPassAndTheirFormatIsReadFromTheHeader() throws Exception {
        assertThat(probe.inspect(qcow2("a.qcow2"), null, false).format()).isEqualTo("qcow2");
        Path raw = root.resolve("a.img");
        Files.write(raw, new byte[1 << 20]);
        assertThat(probe.inspect(raw, "raw", false).format()).isEqualTo("raw");
        for (String sub : new String[] {"monolithicSparse", "streamOptimized"}) {
            Path v = root.resolve(sub + ".vmdk");
            qemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=" + sub, v.toString(), "1M");
            assertThat(probe.inspect(v, null, false).format()).isEqualTo("vmdk");
        }
        for (String f : new String[] {"vdi", "vpc", "vhdx"}) {
            Path v = root.resolve("a." + f);
            qemuImg("create", "-q", "-f", f, v.toString(), "8M");
            assertThat(probe.inspect(v, f, false).format()).isEqualTo(f);
        }
    }

    @Test
    void aQcow2DataFileOutsideTheRootIsRefusedWithoutBeingOpened() throws Exception {
        Path data = outside.resolve("data.fifo");
        Path img = root.resolve("df.qcow2");
        Files.write(data, new byte[0]);
        qemuImg("create", "-q", "-f", "qcow2", "-o", "data_file=" + data, img.toString(), "1M");
        Files.delete(data);
        try (FifoCanary canary = new FifoCanary(data)) {
            GuestflowException e = refused(img, false);
            assertThat(e.code()).isEqualTo(ErrorCode.IMAGE_REFUSED);
            assertThat(e.getMessage()).contains("external data file").contains(data.toString());
            // allowed as a feature, it is still outside the root
            ImageProbe lax = new ImageProbe(probe.policy().withAllowed(Set.of("qcow2", "qcow2-data-file")));
            GuestflowException e2 = catchThrowableOfType(GuestflowException.class, () -> lax.inspect(img, null, false));
            assertThat(e2.getMessage()).contains("outside the image root").contains(data.toString());
            assertThat(canary.wasOpened()).as("nothing may open the data file").isFalse();
        }
    }

    @Test
    void aQcow2DataFileUnderTheRootNeedsTheFeatureInTheAllowlist() throws Exception {
        Path data = root.resolve("data.raw");
        Path img = root.resolve("df.qcow2");
        qemuImg("create", "-q", "-f", "qcow2", "-o", "data_file=" + data, img.toString(), "1M");
        assertThat(refused(img, false).getMessage()).contains("qcow2-data-file");
        ImageProbe lax = new ImageProbe(probe.policy().withAllowed(Set.of("qcow2", "qcow2-data-file")));
        assertThat(lax.inspect(img, null, false).format()).isEqualTo("qcow2");
    }

    @Test
    void vmdkDescriptorsNamingHostFilesAreRefusedBeforeQemuImgOpensThem() throws Exception {
        Path fifo = outside.resolve("extent.fifo");
        try (FifoCanary canary = new FifoCanary(fifo)) {
            Path desc = root.resolve("evil.vmdk");
            Files.writeString(desc, "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
                    + "createType=\"monolithicFlat\"\n\nRW 2048 FLAT \"/etc/shadow\" 0\nRW 2048 FLAT \"" + fifo + "\" 0\n");
            GuestflowException e = refused(desc, false);
            assertThat(e.code()).isEqualTo(ErrorCode.IMAGE_REFUSED);
            assertThat(e.getMessage()).contains("VMDK descriptor").contains("/etc/shadow").contains(fifo.toString());
            ImageProbe lax = new ImageProbe(probe.policy().withAllowed(Set.of("vmdk", "vmdk-descriptor")));
            GuestflowException e2 = catchThrowableOfType(GuestflowException.class, () -> lax.inspect(desc, null, false));
            assertThat(e2.getMessage()).contains("/etc/shadow").contains("outside the image root");
            assertThat(canary.wasOpened()).isFalse();
        }
        // a monolithicFlat pair under the root passes once descriptors are allowed
        Path flat = root.resolve("flat.vmdk");
        qemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", flat.toString(), "1M");
        assertThat(refused(flat, false).getMessage()).contains("flat-flat.vmdk");
        ImageProbe lax = new ImageProbe(probe.policy().withAllowed(Set.of("vmdk", "vmdk-descriptor")));
        assertThat(lax.inspect(flat, null, false).format()).isEqualTo("vmdk");
    }

    @Test
    void backingChainsAreFollowedAndMustStayUnderTheRoot() throws Exception {
        Path base = qcow2("base.qcow2");
        Path mid = root.resolve("mid.qcow2");
        Path top = root.resolve("top.qcow2");
        qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "base.qcow2", mid.toString());
        qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", mid.toString(), top.toString());
        assertThat(refused(top, false).code()).isEqualTo(ErrorCode.BACKING_FILE_REFUSED);
        assertThat(probe.inspect(top, null, true).backingFile()).isEqualTo(mid.toString());
        // the third image of the chain leaves the root: the reason names it
        try (FifoCanary canary = new FifoCanary(outside.resolve("deep.fifo"))) {
            qemuImg("rebase", "-q", "-u", "-F", "qcow2", "-b", canary.fifo().toString(), base.toString());
            GuestflowException e = refused(top, true);
            assertThat(e.code()).isEqualTo(ErrorCode.IMAGE_REFUSED);
            assertThat(e.getMessage()).contains(base.toString()).contains(canary.fifo().toString()).contains("outside the image root");
            assertThat(canary.wasOpened()).isFalse();
        }
        // a symlink under the root that leads out, a loop, a FIFO in the root, a protocol name
        Files.createSymbolicLink(root.resolve("link.qcow2"), Path.of("/etc/hostname"));
        qemuImg("rebase", "-q", "-u", "-F", "raw", "-b", "link.qcow2", base.toString());
        assertThat(refused(top, true).getMessage()).contains("resolving to /etc/hostname");
        qemuImg("rebase", "-q", "-u", "-F", "qcow2", "-b", top.toString(), base.toString());
        assertThat(refused(top, true).getMessage()).contains("loops back");
        try (FifoCanary canary = new FifoCanary(root.resolve("in-root.fifo"))) {
            qemuImg("rebase", "-q", "-u", "-F", "raw", "-b", canary.fifo().toString(), base.toString());
            assertThat(refused(top, true).getMessage()).contains("a FIFO, not a regular file");
            assertThat(canary.wasOpened()).isFalse();
        }
        qemuImg("rebase", "-q", "-u", "-F", "raw", "-b", "json:{\"file.driver\":\"file\",\"file.filename\":\"/etc/hosts\"}",
                base.toString());
        assertThat(refused(top, true).getMessage()).contains("not a plain file path");
    }

    @Test
    void limitsAndDamage() throws Exception {
        Path giant = root.resolve("giant.qcow2");
        qemuImg("create", "-q", "-f", "qcow2", giant.toString(), "64T");
        ImageProbe small = new ImageProbe(probe.policy().withMaxVirtualSize(1L << 40));
        GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> small.inspect(giant, null, false));
        assertThat(e.getMessage()).contains("virtual size 65536 GiB exceeds the largest accepted, 1024 GiB");
        Path cut = qcow2("cut.qcow2");
        try (RandomAccessFile f = new RandomAccessFile(cut.toFile(), "rw")) {
            f.setLength(60);
        }
        assertThat(refused(cut, false).code()).isEqualTo(ErrorCode.DISK_CORRUPT);
        Path vhd = root.resolve("diff.vhd");
        qemuImg("create", "-q", "-f", "vpc", vhd.toString(), "8M");
        try (RandomAccessFile f = new RandomAccessFile(vhd.toFile(), "rw")) {
            f.seek(60);
            f.writeInt(4); // differencing
        }
        assertThat(refused(vhd, false).getMessage()).contains("differencing VHD");
        ImageProbe qcow2Only = new ImageProbe(probe.policy().withAllowed(Set.of("qcow2")));
        Path vdi = root.resolve("a.vdi");
        qemuImg("create", "-q", "-f", "vdi", vdi.toString(), "8M");
        assertThat(catchThrowableOfType(GuestflowException.class, () -> qcow2Only.inspect(vdi, null, false)).getMessage())
                .contains("vdi (dynamic) images are not accepted (accepted: qcow2;");
    }

    /** A remote qcow2 could name /etc/shadow as its backing file, and it cannot be read before qemu opens it. */
    @Test
    void remoteDrivesMustBeRawUnlessTheOperatorSaysOtherwise() {
        Drive remote = Drive.of("https://cdn.example/web01.qcow2?sig=abc").withFormat("qcow2");
        ImageProbe allowing = new ImageProbe(probe.policy().withRemoteHosts(RemoteHosts.parse("cdn.example")));
        GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> allowing.resolve(remote, false));
        assertThat(e.code()).isEqualTo(ErrorCode.IMAGE_REFUSED);
        assertThat(e.getMessage()).contains("only raw remote drives").contains("remote-images").doesNotContain("sig=abc");
        // checkRemote is what resolve does before it opens anything over the network
        allowing.checkRemote(remote.withFormat("raw"));
        ImageProbe lax = new ImageProbe(allowing.policy().withAllowed(Set.of("raw", "qcow2", "remote-images")));
        lax.checkRemote(remote);
    }

    /** No remote host is allowed by default; a host not listed is refused before anything opens it, secrets masked. */
    @Test
    void remoteHostsMustBeListed() {
        Drive remote = Drive.of("https://evil.example:8443/d.img?X-Amz-Signature=s3cr3t").withFormat("raw");
        GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> probe.resolve(remote, false));
        assertThat(e.code()).isEqualTo(ErrorCode.REMOTE_HOST_REFUSED);
        assertThat(e.code().retryable()).isFalse();
        assertThat(e.getMessage()).contains("names host evil.example:8443").contains("guestflow.pool.remote-hosts: empty")
                .doesNotContain("s3cr3t");
        ImageProbe other = new ImageProbe(probe.policy().withRemoteHosts(RemoteHosts.parse("cdn.example, [fd00::5]:10809")));
        e = catchThrowableOfType(GuestflowException.class, () -> other.resolve(remote, false));
        assertThat(e.getMessage()).contains("remote-hosts: cdn.example,[fd00:0:0:0:0:0:0:5]:10809)");
        other.checkRemote(Drive.of("https://CDN.example./d.img").withFormat("raw"));
        other.checkRemote(Drive.of("nbd://[FD00:0::5]/export").withFormat("raw"));
    }

    /**
     * Our own overlay over a remote disk (an in-place job on it, a copy from
     * it): its json backing name passes the same remote check as a job's
     * disk, and nothing opens it (created with -u: no server exists here).
     * The same bytes in a file this process did not make are refused.
     */
    @Test
    void anOverlayOverARemoteDiskPassesTheRemoteCheck(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path ov = dir.resolve("overlay0.qcow2");
        Drive nbd = Drive.of("nbd://storage.example:10809/web").withFormat("raw");
        RemoteImage.createOverlay("qemu-img", ov, nbd, 16 << 20, null, false, 60);
        Drive overlay = new Drive(ov.toUri(), "qcow2", false, null);
        ImageProbe allowing = new ImageProbe(probe.policy().withRemoteHosts(RemoteHosts.parse("storage.example")));
        assertThat(allowing.resolveOwned(overlay).format()).isEqualTo("qcow2");
        GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> probe.resolveOwned(overlay));
        assertThat(e.code()).isEqualTo(ErrorCode.REMOTE_HOST_REFUSED);
        assertThat(e.getMessage()).contains("names host storage.example:10809");
        // only our own overlay: a job's image naming a json: backing file stays refused, even these very bytes
        ImageProbe lax = new ImageProbe(allowing.policy().withAllowed(Set.of("raw", "qcow2")).withRoot(dir));
        e = catchThrowableOfType(GuestflowException.class, () -> lax.resolve(overlay, true));
        assertThat(e.code()).isEqualTo(ErrorCode.IMAGE_REFUSED);
        assertThat(e.getMessage()).contains("not a plain file path");
        Path copy = dir.resolve("copy.qcow2");
        Files.copy(ov, copy);
        e = catchThrowableOfType(GuestflowException.class,
                () -> allowing.resolveOwned(new Drive(copy.toUri(), "qcow2", false, null)));
        assertThat(e.getMessage()).contains("not a plain file path");
        // forgotten (deleted by its owner), the overlay is no longer trusted either
        RemoteImage.forget(ov);
        assertThatThrownBy(() -> allowing.resolveOwned(overlay)).hasMessageContaining("not a plain file path");
    }

    /** An allowed host that refuses connections: a clear, retryable failure within the probe, no launch. */
    @Test
    void anAllowedHostThatDoesNotServeIsUnreachable() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed again: nothing listens there now
        }
        ImageProbe allowing = new ImageProbe(probe.policy().withRemoteHosts(RemoteHosts.parse("127.0.0.1")));
        Drive remote = Drive.of("nbd://127.0.0.1:" + port + "/export").withFormat("raw");
        long t0 = System.nanoTime();
        GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> allowing.resolve(remote, false));
        assertThat(e.code()).isEqualTo(ErrorCode.REMOTE_UNREACHABLE);
        assertThat(e.code().retryable()).isTrue();
        assertThat(e.getMessage()).contains("nbd://127.0.0.1:" + port + "/export cannot be opened").contains("refused");
        assertThat((System.nanoTime() - t0) / 1_000_000_000).isLessThan(30);
    }

    @Test
    void anOverlayMadeHereIsTrustedButWhatIsBelowItIsNot() throws Exception {
        Path input = qcow2("input.qcow2");
        Path overlay = outside.resolve("overlay.qcow2");
        qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", input.toString(), overlay.toString());
        Drive d = new Drive(overlay.toUri(), "qcow2", false, null);
        assertThat(probe.resolveOwned(d).format()).isEqualTo("qcow2");
        qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", qcow2("deeper.qcow2").toString(), input.toString());
        GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> probe.resolveOwned(d));
        assertThat(e.getMessage()).contains(input.toString()).contains("deeper.qcow2");
    }
}
