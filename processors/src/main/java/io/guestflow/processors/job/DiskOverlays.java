package io.guestflow.processors.job;

import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.ImageProbe;
import io.guestflow.pool.RemoteImage;
import io.guestflow.pool.Secrets;
import io.guestflow.pool.Subprocess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * qcow2 overlays over disks, attached instead of them, so that work
 * done in place reaches the disks only when it all succeeded: {@link #commit()}
 * writes the overlays into their disks, {@link #close()} deletes them
 * (committed or not). Trims in an overlay become zero clusters; the commit
 * makes them, and every other range of zeroes it writes, holes in the disk
 * (see {@link #commit()}). A disk may be remote (nbd, ssh, on a host the
 * pool allows, with {@code guestflow.pool.remote-writes}): its overlay is a
 * local file backed by the disk's URL, and the commit writes to the server.
 */
public final class DiskOverlays implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DiskOverlays.class);
    /** A commit of a large overlay takes a while; a qemu-img or qemu-io that hangs is killed after this. */
    private static final Duration QEMU_TIMEOUT = Duration.ofMinutes(30);
    /** Upper bound of an overlay's L1 table, which qemu keeps in memory whole. */
    private static final long MAX_L1_BYTES = 8L << 20;
    /** qemu-img commit copies in chunks of at most 64 KiB (its mirror granularity); a bound with room. */
    private static final long COMMIT_CHUNK_BOUND = 1L << 20;

    private final Path dir;
    /** Kept open while the overlays live: the start-up sweep of another engine leaves the folder alone. */
    private final java.nio.channels.FileChannel held;
    private final List<Drive> bases = new ArrayList<>();
    private final List<Path> overlays = new ArrayList<>();
    private final List<Drive> attached = new ArrayList<>();
    /** The remote disks behind overlays, held open (probed once, by the job) while the overlays live. */
    private final List<RemoteImage> remotes = new ArrayList<>();

    /**
     * @param disks   the disks to put behind overlays (probed: format detected, backing files refused)
     * @param discard attach with discard enabled and small clusters, so that trims reach the disks as holes
     */
    public DiskOverlays(List<Drive> disks, boolean discard) throws IOException {
        this.dir = Files.createTempDirectory("guestflow-overlays-");
        this.held = java.nio.channels.FileChannel.open(dir.resolve(TempArtifacts.HELD),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
        try {
            ImageProbe probe = new ImageProbe(io.guestflow.pool.ImagePolicy.forOperations());
            for (int i = 0; i < disks.size(); i++) {
                // a remote disk passed the pool's remote check (host, format) before the job got here, and its
                // overlay passes it again at launch (ImageProbe.resolveOwned); a local one is probed here
                Drive base = disks.get(i).isLocal() ? probe.resolve(disks.get(i), false) : disks.get(i);
                Path overlay = dir.resolve("overlay" + i + ".qcow2");
                if (base.isLocal()) {
                    List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "qcow2"));
                    if (discard) {
                        long size = probe.inspect(base.path(), base.format(), false).virtualSize();
                        create.addAll(List.of("-o", "cluster_size=" + clusterSizeForTrim(size)));
                    }
                    create.addAll(List.of("-F", base.format(), "-b", base.path().toString(), overlay.toString()));
                    qemu("qemu-img", null, create.toArray(String[]::new));
                } else {
                    // backed by the remote disk's json name, as its read-only overlay is: no URL on a command line
                    RemoteImage remote = remoteHeld(base);
                    remotes.add(remote);
                    remote.overlayAt(overlay, discard ? clusterSizeForTrim(remote.virtualSize()) : null);
                }
                bases.add(base);
                overlays.add(overlay);
                Drive drive = new Drive(overlay.toUri(), "qcow2", false, base.label());
                attached.add(discard ? drive.withDiscard("enable") : drive);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * The remote disk as the job holds it open ({@link JobExecutor#checkDisks}:
     * host, format and reachability checked, probed once); an operation never
     * opens a remote disk the job did not check.
     */
    public static RemoteImage remoteHeld(Drive remote) {
        RemoteImage r = RemoteImage.held(remote);
        if (r == null) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "remote disk " + Drive.redact(remote.uri())
                    + " is not held open by its job (JobExecutor.checkDisks opens it before any operation)");
        }
        return r;
    }

    /** How a disk is named in messages: its path, or its URI with secrets masked. */
    static String name(Drive d) {
        return d.isLocal() ? d.path().toString() : Drive.redact(d.uri());
    }

    /** Rejects the job unless every local disk can be written; {@code why} says who writes it. */
    public static void requireWritable(String jobId, List<Drive> disks, String why) {
        for (Drive d : disks) {
            // a remote disk's server decides: a refused write fails the commit, which leaves it unchanged
            if (d.isLocal() && Files.exists(d.path()) && !Files.isWritable(d.path())) {
                throw new JobRejectedException(jobId, "disk " + d.path() + " is not writable; " + why);
            }
        }
    }

    /**
     * The smallest overlay cluster (1 KiB, 4 KiB, else qemu's 64 KiB) whose L1
     * table stays under {@link #MAX_L1_BYTES}. Small clusters matter because
     * qcow2 ignores the parts of a discard that do not cover whole clusters:
     * with 64 KiB clusters, every trimmed free extent of a 1 KiB-block ext4
     * would keep deleted data at its edges.
     */
    public static int clusterSizeForTrim(long virtualSize) {
        for (int c : new int[] {1024, 4096}) {
            // one L2 table is one cluster of 8-byte entries: it maps c * c / 8 bytes
            long l1Bytes = (virtualSize / ((long) c * c / 8) + 1) * 8;
            if (l1Bytes <= MAX_L1_BYTES) {
                return c;
            }
        }
        return 65536;
    }

    /** The overlays, writable, in the order of the disks. */
    public List<Drive> drives() {
        return attached;
    }

    /** The disks behind the overlays, probed. */
    public List<Drive> bases() {
        return bases;
    }

    /**
     * Writes every overlay into its disk; call only after the appliance has
     * shut down.
     *
     * <p>{@code qemu-img commit} alone would let a raw or qcow2 disk grow: it
     * copies in chunks and writes a chunk that is only partly changed as data,
     * zeroes included, so trimmed clusters next to data, and holes of the disk
     * next to a change, come out allocated. So the disk is opened with
     * {@code detect-zeroes=unmap} (whole chunks of zeroes become holes), and
     * afterwards every range the overlay left zero, and every former hole of
     * the disk near a change, is written as zeroes with unmap again
     * ({@code qemu-io write -z -u}, which punches holes in a raw file and
     * frees qcow2 clusters). Other formats are committed as they are.
     */
    public void commit() {
        for (int i = 0; i < overlays.size(); i++) {
            Drive base = bases.get(i);
            try {
                commit(overlays.get(i), base);
            } catch (GuestflowException e) {
                String done = i == 0 ? "no disk was changed" : "disks before " + name(base) + " were changed";
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, "committing the changes into "
                        + name(base) + " failed (" + done + "): " + Secrets.redact(e.getMessage()), e);
            }
        }
    }

    private static void commit(Path overlay, Drive base) {
        if (!base.isLocal()) {
            // written to the server over the network (nbd, ssh); the backing is the overlay's own (the remote URL),
            // opened with detect-zeroes=unmap so that chunks of zeroes (trims) reach the server as write-zeroes
            // with unmap, which it may make holes; the server's map cannot be read back here to do more
            qemu("qemu-img", null, "commit", "-q", "-d", "--image-opts", "driver=qcow2,file.driver=file,file.filename="
                    + optValue(overlay) + ",backing.discard=unmap,backing.detect-zeroes=unmap");
            return;
        }
        ImageMap disk = "raw".equals(base.format()) || "qcow2".equals(base.format())
                ? ImageMap.header(base.path(), base.format()) : null;
        if (disk == null || "qcow2".equals(disk.format()) && !disk.zeroClusters()) {
            // -d: the overlay is deleted next, no need to empty it
            qemu("qemu-img", null, "commit", "-q", "-d", overlay.toString());
            return;
        }
        ByteRanges holes = ImageMap.read(overlay, "qcow2").holesAfterCommit(COMMIT_CHUNK_BOUND);
        String fmt = base.format();
        qemu("qemu-img", null, "commit", "-q", "-d", "--image-opts", "driver=qcow2,file.driver=file,file.filename="
                + optValue(overlay) + ",backing.driver=" + fmt + ",backing.file.driver=file,backing.file.filename="
                + optValue(base.path()) + ",backing.discard=unmap,backing.detect-zeroes=unmap");
        if (holes.isEmpty()) {
            return;
        }
        StringBuilder cmds = new StringBuilder();
        for (ByteRanges.Range r : holes.list()) {
            cmds.append("write -z -u ").append(r.start()).append(' ').append(r.length()).append('\n');
        }
        cmds.append("flush\n");
        try {
            qemu("qemu-io", cmds.toString(), "-f", fmt, base.path().toAbsolutePath().toString());
        } catch (GuestflowException e) {
            // the changes are in the disk; only some zeroes may stay allocated
            LOG.warn("committed into {}, but making its zero ranges holes again failed: {}", base.path(), e.getMessage());
        }
    }

    /** A file name as the value of a qemu {@code --image-opts} option: commas doubled. */
    private static String optValue(Path p) {
        return p.toAbsolutePath().toString().replace(",", ",,");
    }

    @Override
    public void close() {
        overlays.forEach(RemoteImage::forget);
        remotes.forEach(RemoteImage::close);
        remotes.clear();
        try {
            held.close();
            FileTrees.delete(dir);
        } catch (IOException ignored) {
            // a temporary directory of overlays: TempArtifacts sweeps it at the next start
        }
    }

    /**
     * Runs a qemu tool ({@code qemu-img}, {@code qemu-io}) and returns what it
     * printed; {@code stdin}, when given, is fed to it.
     */
    static String qemu(String tool, String stdin, String... args) {
        List<String> cmd = new ArrayList<>(List.of(tool));
        cmd.addAll(List.of(args));
        try {
            Subprocess.Result r = Subprocess.run(cmd, stdin, QEMU_TIMEOUT);
            if (r.exitCode() != 0) {
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, tool
                        + (args[0].startsWith("-") ? "" : " " + args[0]) + " failed: "
                        + lastLines((r.stdout() + "\n" + r.stderr()).strip()));
            }
            return r.stdout();
        } catch (Subprocess.TimedOut e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, e.getMessage(), e);
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot run " + tool + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestflowException(ErrorCode.POOL_CLOSED, "interrupted while running " + tool, e);
        }
    }

    /** qemu-io echoes every command: the error is at the end. */
    private static String lastLines(String printed) {
        String[] lines = printed.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(lines, Math.max(0, lines.length - 5), lines.length));
    }
}
