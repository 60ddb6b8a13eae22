package io.guestflow.processors.sparsify;

import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.ImageInfo;
import io.guestflow.pool.ImageProbe;
import io.guestflow.processors.job.DiskAccess;
import io.guestflow.processors.job.DiskOverlays;
import io.guestflow.processors.job.ImageMap;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecution;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.job.JobOperation;
import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.processors.job.OutputClaim;
import io.guestflow.processors.job.PathPolicy;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code sparsify} job type: free space inside the guest's filesystems
 * becomes holes in the image, like virt-sparsify.
 *
 * <p>Copy mode never writes the input: the appliance works on a job-owned
 * qcow2 overlay backed by it, and once the appliance has shut down the
 * overlay is converted to the output under a temporary name in the output's
 * folder, renamed only when the conversion succeeded. In place, the input is
 * attached writable with discard enabled and trimmed. A remote input (see
 * {@link #remote}) is read through the overlay in copy mode, and trimmed on
 * an overlay committed to its server in place.
 */
public final class SparsifyJobOperation implements JobOperation {
    private static final Logger LOG = LoggerFactory.getLogger(SparsifyJobOperation.class);

    private final ImageProbe probe = new ImageProbe(io.guestflow.pool.ImagePolicy.forOperations());

    @Override
    public String type() {
        return "sparsify";
    }

    @Override
    public String description() {
        return "what virt-sparsify does: free space in the guest's filesystems becomes holes (copy mode or in place)";
    }

    /** Not read-only: copy mode writes its overlay, in-place mode the input; both need the flush at shutdown. */
    @Override
    public boolean readOnly() {
        return false;
    }

    @Override
    public void validate(Job job) {
        SparsifyOptions.of(job);
    }

    @Override
    public DiskAccess diskAccess(Job job) {
        return producesOutput(job) ? DiskAccess.COPY_TO_OUTPUT : DiskAccess.TRIM_IN_PLACE;
    }

    /** {@code tmpDir} names a host directory: the path policy keeps it under the tmp root. */
    @Override
    public List<PathPolicy.HostPath> hostPaths(Job job) {
        JsonNode t = job.options().get("tmpDir");
        return t != null && t.isTextual()
                ? List.of(new PathPolicy.HostPath("options.tmpDir", t.asText(), PathPolicy.HostPath.Kind.TMP_DIR))
                : List.of();
    }

    /** Copy mode; the other checks of the options need the output, which {@link #validate} has. */
    @Override
    public boolean producesOutput(Job job) {
        return !SparsifyOptions.inPlace(job);
    }

    /** The guest part on an appliance where the disk to sparsify (overlay or input) is attached writable with discard. */
    @Override
    public SparsifyReport run(ApplianceHandle handle, Job job) throws Exception {
        return new GuestSparsifier(handle.gfs(), SparsifyOptions.of(job), null, null).run();
    }

    @Override
    public JobExecution prepare(Job job, List<Drive> disks) throws Exception {
        return prepare(job, disks, null);
    }

    /**
     * In place, the pipeline attaches an overlay over the input and commits
     * it after its launch: the trims run there, and the input's sizes are
     * measured before the launch and in {@code finish}, after the commit (no
     * per-filesystem {@code reclaimedBytes}: the input only changes at the
     * commit). Copy mode is the job's own execution, whose overlay the
     * pipeline's launch attaches.
     */
    @Override
    public JobExecution prepareStep(Job job, List<Drive> attached) throws Exception {
        return prepare(job, JobExecutor.disksOf(job, this), SparsifyOptions.of(job).inPlace() ? attached : null);
    }

    /** @param attachedInstead in place: what a pipeline attaches instead of the input itself; null for a job */
    private JobExecution prepare(Job job, List<Drive> disks, List<Drive> attachedInstead) throws Exception {
        SparsifyOptions options = SparsifyOptions.of(job);
        Drive input = disks.get(0);
        if (!input.isLocal()) {
            return remote(job, options, input, attachedInstead);
        }
        Path inputPath = input.path();
        // the executor only probes what is attached, which in copy mode is our overlay
        ImageInfo info = probe.inspect(inputPath, input.format(), false);
        if (options.inPlace()) {
            try {
                writtenBack(inputPath);
            } catch (IOException e) {
                LOG.debug("could not write back {} before measuring it: {}", inputPath, e.getMessage());
            }
        }
        QemuImg.Sizes before = QemuImg.sizes(inputPath);
        SparsifyReport.Image inputImage = new SparsifyReport.Image(inputPath.toString(), info.format(), null,
                info.virtualSize(), before.apparentSize(), before.allocatedSize());
        return options.inPlace()
                ? inPlace(job, options, inputPath, info, inputImage, attachedInstead)
                : copy(job, options, o -> QemuImg.createOverlay(o, inputPath, info.format(), info.virtualSize()), inputPath,
                        info, inputImage);
    }

    /**
     * A remote input (nbd, ssh, http(s); its host and format passed the pool's
     * remote check). Copy mode: the overlay is backed by the remote disk, the
     * output is local, the disk is only read. In place (JobExecutor allowed the
     * write: guestflow.pool.remote-writes, nbd or ssh): the trims run on an
     * overlay over it (the pipeline's, or this job's own), committed to the
     * server after the launch, so a failed or killed job leaves it as it was.
     * Only the virtual size of a remote disk is known here; its allocation is
     * the server's, so the report has no input allocation and no
     * {@code reclaimedBytes}.
     */
    private JobExecution remote(Job job, SparsifyOptions options, Drive input, List<Drive> attachedInstead)
            throws IOException {
        long virtualSize;
        // held open by the job (probed once): its size, and the backing name of the copy's overlay
        try (io.guestflow.pool.RemoteImage held = DiskOverlays.remoteHeld(input)) {
            virtualSize = held.virtualSize();
            if (!options.inPlace()) {
                SparsifyReport.Image inputImage = new SparsifyReport.Image(Drive.redact(input.uri()), input.format(), null,
                        virtualSize, null, null);
                return copy(job, options, o -> held.overlayAt(o, QemuImg.overlayClusterSize(virtualSize)), null,
                        new ImageInfo(input.format(), virtualSize, -1, null), inputImage);
            }
        }
        SparsifyReport.Image inputImage = new SparsifyReport.Image(Drive.redact(input.uri()), input.format(), null,
                virtualSize, null, null);
        DiskOverlays own = attachedInstead == null ? new DiskOverlays(List.of(input), true) : null;
        List<Drive> drives = own == null ? attachedInstead : own.drives();
        return new JobExecution() {
            @Override
            public List<Drive> drives() {
                return drives;
            }

            @Override
            public boolean ownsBackingChains() {
                return own != null;
            }

            @Override
            public Object run(ApplianceHandle handle) throws Exception {
                return new GuestSparsifier(handle.gfs(), options, null, null).run();
            }

            @Override
            public Object finish(Object output) {
                if (own != null) {
                    own.commit();
                }
                return ((SparsifyReport) output).withSizes(inputImage, new SparsifyReport.Image(inputImage.path(),
                        input.format(), null, virtualSize, null, null));
            }

            @Override
            public void close() {
                if (own != null) {
                    own.close();
                }
            }
        };
    }

    private JobExecution inPlace(Job job, SparsifyOptions options, Path inputPath, ImageInfo info,
                                 SparsifyReport.Image inputImage, List<Drive> attachedInstead) throws IOException {
        if (!Files.isWritable(inputPath) || !anyWriteBit(inputPath)) {
            throw new JobRejectedException(job.jobId(), "in-place sparsify writes its input, but " + inputPath
                    + " is read-only; make it writable or use copy mode with an output");
        }
        List<Drive> drives = attachedInstead != null ? attachedInstead
                : List.of(new Drive(inputPath.toUri(), info.format(), false, null).withDiscard("enable"));
        // the host file shrinks during the run only when it is attached itself
        LongSupplier allocation = attachedInstead != null ? null : () -> QemuImg.allocated(inputPath);
        // where the image holds space now: what the trims can give back, and where they would cost (a pipeline's
        // overlay has the input's offsets, and its commit writes the trims into the input)
        Allocation before = SparsifyOptions.OUTPUT_FORMATS.contains(info.format())
                ? Allocation.of(ImageMap.read(inputPath, info.format())) : null;
        return new JobExecution() {
            @Override
            public List<Drive> drives() {
                return drives;
            }

            @Override
            public Object run(ApplianceHandle handle) throws Exception {
                return new GuestSparsifier(handle.gfs(), options, allocation, before).run();
            }

            @Override
            public Object finish(Object output) {
                QemuImg.Sizes after = QemuImg.sizes(inputPath);
                return ((SparsifyReport) output).withSizes(inputImage, new SparsifyReport.Image(inputPath.toString(),
                        info.format(), null, after.virtualSize(), after.apparentSize(), after.allocatedSize()));
            }
        };
    }

    /** Creates the copy's qcow2 overlay over the input at the path given. */
    private interface OverlayMaker {
        void create(Path overlay);
    }

    /**
     * @param overlayMaker makes the overlay over the input: backed by its path, or by a remote disk's json name
     * @param inputPath    the local input, or null for a remote one
     */
    private JobExecution copy(Job job, SparsifyOptions options, OverlayMaker overlayMaker, Path inputPath, ImageInfo info,
                              SparsifyReport.Image inputImage) throws IOException {
        Path output = Path.of(Drive.parseUri(job.output().uri()));
        Path outDir = output.toAbsolutePath().getParent();
        if (outDir == null || !Files.isDirectory(outDir)) {
            throw new JobRejectedException(job.jobId(), "output folder " + outDir + " does not exist");
        }
        if (inputPath != null && Files.exists(output) && Files.isSameFile(output, inputPath)) {
            throw new JobRejectedException(job.jobId(), "output is the input itself; use inPlace: true to sparsify it in place");
        }
        String format = options.outputFormat() != null ? options.outputFormat()
                : SparsifyOptions.OUTPUT_FORMATS.contains(info.format()) ? info.format() : "qcow2";
        Path tmpDir = options.tmpDir() != null ? options.tmpDir() : Path.of(System.getProperty("java.io.tmpdir"));
        checkTmpDir(job, tmpDir, info.virtualSize());

        Path overlay = null;
        Path partial = null;
        FileChannel held = null;
        try {
            overlay = Files.createTempFile(tmpDir, "guestflow-sparsify-", ".qcow2");
            // open while the job lives: the start-up sweep of another engine leaves open files alone
            held = FileChannel.open(overlay, StandardOpenOption.READ);
            overlayMaker.create(overlay);
            // created now, so an unwritable output folder fails before any appliance starts
            partial = createPartial(job, output);
        } catch (RuntimeException | IOException e) {
            closeQuietly(held);
            deleteQuietly(overlay);
            deleteQuietly(partial);
            throw e;
        }
        return new CopyExecution(job, options, format, output, overlay, held, partial, inputImage);
    }

    /** virt-sparsify's worst case: an overlay as large as the input's virtual size (filesystems that cannot trim). */
    private static void checkTmpDir(Job job, Path tmpDir, long virtualSize) throws IOException {
        if (!Files.isDirectory(tmpDir)) {
            throw new JobRejectedException(job.jobId(), "tmpDir " + tmpDir + " is not a directory");
        }
        long free = Files.getFileStore(tmpDir).getUsableSpace();
        if (free < virtualSize) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "not enough free space in tmpDir " + tmpDir
                    + " for the overlay: it may grow to the input's virtual size, " + mib(virtualSize) + " MiB, and "
                    + mib(free) + " MiB are free; choose another tmpDir");
        }
    }

    private static Path createPartial(Job job, Path output) throws IOException {
        try {
            return Files.createTempFile(output.toAbsolutePath().getParent(), "." + output.getFileName() + ".", ".part");
        } catch (java.nio.file.FileSystemException e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot write in the output folder "
                    + output.toAbsolutePath().getParent() + ": " + e.getMessage(), e);
        }
    }

    private static final class CopyExecution implements JobExecution {
        private final Job job;
        private final SparsifyOptions options;
        private final String format;
        private final Path output;
        private final Path overlay;
        private final FileChannel held;
        private final Path partial;
        private final SparsifyReport.Image inputImage;

        CopyExecution(Job job, SparsifyOptions options, String format, Path output, Path overlay, FileChannel held,
                      Path partial, SparsifyReport.Image inputImage) {
            this.job = job;
            this.options = options;
            this.format = format;
            this.output = output;
            this.overlay = overlay;
            this.held = held;
            this.partial = partial;
            this.inputImage = inputImage;
        }

        @Override
        public List<Drive> drives() {
            // the overlay is thrown away after conversion: qemu need not flush it before it exits
            return List.of(new Drive(overlay.toUri(), "qcow2", false, null).withDiscard("enable").withCachemode("unsafe"));
        }

        @Override
        public boolean ownsBackingChains() {
            return true;
        }

        @Override
        public Object run(ApplianceHandle handle) throws Exception {
            return new GuestSparsifier(handle.gfs(), options, null, null).run();
        }

        @Override
        public Object finish(Object report) throws IOException {
            long start = System.nanoTime();
            QemuImg.convert(overlay, "qcow2", partial, format, options.compress(),
                    Duration.ofSeconds(Math.max(job.timeoutSeconds(), 60)));
            writtenBack(partial); // the rename below must not publish an image whose blocks are still in the page cache
            Files.setPosixFilePermissions(partial, OutputClaim.DEFAULT_MODE); // a temp file is 0600
            OutputClaim.publish(partial, output, job.output().overwrite());
            LOG.info("sparsify {}: converted to {} ({}) in {} ms", job.jobId(), output, format,
                    (System.nanoTime() - start) / 1_000_000);
            QemuImg.Sizes out = QemuImg.sizes(output);
            return ((SparsifyReport) report).withSizes(inputImage, new SparsifyReport.Image(output.toString(), format,
                    options.compress() ? Boolean.TRUE : null, out.virtualSize(), out.apparentSize(), out.allocatedSize()));
        }

        @Override
        public void close() {
            closeQuietly(held);
            deleteQuietly(overlay);
            deleteQuietly(partial); // gone already when the rename happened
        }
    }

    private static boolean anyWriteBit(Path p) {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
            return perms.contains(PosixFilePermission.OWNER_WRITE) || perms.contains(PosixFilePermission.GROUP_WRITE)
                    || perms.contains(PosixFilePermission.OTHERS_WRITE);
        } catch (IOException | UnsupportedOperationException e) {
            return true; // no POSIX modes here: isWritable already decided
        }
    }

    private static long mib(long bytes) {
        return bytes / (1024 * 1024);
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // a read-only handle on our own overlay
            }
        }
    }

    private static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        io.guestflow.pool.RemoteImage.forget(p);
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.warn("cannot delete {}: {}", p, e.getMessage());
        }
    }

    /**
     * Writes {@code image}'s blocks from the page cache to the disk (fsync,
     * which needs no write access). Before publishing a converted output; and
     * in place before measuring the input, whose allocation is compared with
     * the one after: a file just written (a fresh copy) gains host blocks when
     * the host writes it back (measured: an ext4 extent block, 4 KiB, for a
     * raw image of 53 extents), which would show as growth the job never caused.
     */
    private static void writtenBack(Path image) throws IOException {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
