package io.guestflow.processors.job;

import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.ImageProbe;
import io.guestflow.pool.Subprocess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;

/**
 * qcow2 overlays over local disks, attached instead of them, so that work
 * done in place reaches the disks only when it all succeeded: {@link #commit()}
 * writes the overlays into their disks, {@link #close()} deletes them
 * (committed or not). Trims in an overlay become zero clusters, which
 * {@code qemu-img commit} turns into holes in the disk.
 */
public final class DiskOverlays implements AutoCloseable {
    /** A commit of a large overlay takes a while; a qemu-img that hangs is killed after this. */
    private static final Duration QEMU_IMG_TIMEOUT = Duration.ofMinutes(30);
    /** Upper bound of an overlay's L1 table, which qemu keeps in memory whole. */
    private static final long MAX_L1_BYTES = 8L << 20;

    private final Path dir;
    /** Kept open while the overlays live: the start-up sweep of another engine leaves the folder alone. */
    private final java.nio.channels.FileChannel held;
    private final List<Drive> bases = new ArrayList<>();
    private final List<Path> overlays = new ArrayList<>();
    private final List<Drive> attached = new ArrayList<>();

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
                Drive base = probe.resolve(disks.get(i), false);
                Path overlay = dir.resolve("overlay" + i + ".qcow2");
                List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "qcow2"));
                if (discard) {
                    long size = probe.inspect(base.path(), base.format(), false).virtualSize();
                    create.addAll(List.of("-o", "cluster_size=" + clusterSizeForTrim(size)));
                }
                create.addAll(List.of("-F", base.format(), "-b", base.path().toString(), overlay.toString()));
                qemuImg(create.toArray(String[]::new));
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

    /** Rejects the job unless every local disk can be written; {@code why} says who writes it. */
    public static void requireWritable(String jobId, List<Drive> disks, String why) {
        for (Drive d : disks) {
            if (Files.exists(d.path()) && !Files.isWritable(d.path())) {
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

    /** Writes every overlay into its disk; call only after the appliance has shut down. */
    public void commit() {
        for (int i = 0; i < overlays.size(); i++) {
            try {
                // -d: the overlay is deleted next, no need to empty it
                qemuImg("commit", "-q", "-d", overlays.get(i).toString());
            } catch (GuestflowException e) {
                String done = i == 0 ? "no disk was changed" : "disks before " + bases.get(i).path() + " were changed";
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, "committing the changes into "
                        + bases.get(i).path() + " failed (" + done + "): " + e.getMessage(), e);
            }
        }
    }

    @Override
    public void close() {
        try {
            held.close();
            FileTrees.delete(dir);
        } catch (IOException ignored) {
            // a temporary directory of overlays: TempArtifacts sweeps it at the next start
        }
    }

    private static void qemuImg(String... args) {
        List<String> cmd = new ArrayList<>(List.of("qemu-img"));
        cmd.addAll(List.of(args));
        try {
            Subprocess.Result r = Subprocess.run(cmd, QEMU_IMG_TIMEOUT);
            if (r.exitCode() != 0) {
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, "qemu-img " + args[0] + " failed: "
                        + (r.stdout() + r.stderr()).strip());
            }
        } catch (Subprocess.TimedOut e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, e.getMessage(), e);
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot run qemu-img: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestflowException(ErrorCode.POOL_CLOSED, "interrupted while running qemu-img", e);
        }
    }
}
