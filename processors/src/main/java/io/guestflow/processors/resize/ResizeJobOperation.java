package io.guestflow.processors.resize;

import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.ImageInfo;
import io.guestflow.pool.ImageProbe;
import io.guestflow.pool.Subprocess;
import io.guestflow.processors.job.DiskAccess;
import io.guestflow.processors.job.DiskOverlays;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecution;
import io.guestflow.processors.job.JobOperation;
import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.processors.job.OutputClaim;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code resize} job type: a new output image at the requested size with
 * the source's partitions copied and resized the way virt-resize does.
 * Never in place: the input is attached read-only, the output is created by
 * {@code qemu-img} under a temporary name beside the final one and renamed
 * only after the appliance has flushed it.
 */
public final class ResizeJobOperation implements JobOperation {
    private static final Logger LOG = LoggerFactory.getLogger(ResizeJobOperation.class);
    private static final long QEMU_IMG_TIMEOUT_SECONDS = 120;

    private final ImageProbe probe;

    public ResizeJobOperation() {
        this(new ImageProbe(io.guestflow.pool.ImagePolicy.forOperations()));
    }

    public ResizeJobOperation(ImageProbe probe) {
        this.probe = probe;
    }

    @Override
    public String type() {
        return "resize";
    }

    @Override
    public String description() {
        return "what virt-resize does: a copy of the disk at a new size, partitions expanded/resized and their content grown";
    }

    @Override
    public boolean readOnly() {
        return false; // it writes its output image; the input is attached read-only all the same
    }

    /** virt-resize is this operation's reference, and it opens no LUKS container. */
    @Override
    public String refusesKeys() {
        return "resize takes no keys: virt-resize (1.48, this operation's reference) has no --key and copies an"
                + " encrypted partition as it is, without opening it; resize the disk without keys (LUKS containers"
                + " are copied and can be grown in the guest), or open the guest with inspect/sysprep/sparsify";
    }

    @Override
    public void validate(Job job) {
        ResizeOptions o = options(job);
        if (job.disks().size() != 1) {
            throw new JobRejectedException(job.jobId(), "resize takes exactly one disk (got " + job.disks().size() + ")");
        }
        if (job.output() == null && !o.dryRun()) {
            throw new JobRejectedException(job.jobId(), "resize needs an output (the new image); it never resizes in place");
        }
        if (job.output() != null) {
            String fmt = job.output().format();
            if (fmt != null && o.outputFormat() != null && !fmt.equals(o.outputFormat())) {
                throw new JobRejectedException(job.jobId(), "output format '" + fmt + "' and option outputFormat '"
                        + o.outputFormat() + "' disagree");
            }
            if (fmt != null && !ResizeOptions.OUTPUT_FORMATS.contains(fmt)) {
                throw new JobRejectedException(job.jobId(), "cannot create an output in format '" + fmt + "' (one of "
                        + new java.util.TreeSet<>(ResizeOptions.OUTPUT_FORMATS) + ")");
            }
            Drive in = Drive.of(job.disks().get(0).uri());
            Path out = Drive.of(job.output().uri()).path();
            if (in.isLocal() && sameFile(in.path(), out)) {
                throw new JobRejectedException(job.jobId(), "the output must not be the input: resize never writes in place");
            }
        }
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            if (Files.exists(a) && Files.exists(b)) {
                return Files.isSameFile(a, b);
            }
        } catch (IOException e) {
            // unreadable: the probe reports it
        }
        return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }

    static ResizeOptions options(Job job) {
        try {
            return ResizeOptions.parse(job.options());
        } catch (IllegalArgumentException e) {
            throw new JobRejectedException(job.jobId(), e.getMessage());
        }
    }

    /** The output disk is attached beside the input, with LVM filters of its own: no other step fits there. */
    @Override
    public DiskAccess diskAccess(Job job) {
        return DiskAccess.OWN_LAUNCH;
    }

    @Override
    public boolean producesOutput(Job job) {
        return !options(job).dryRun();
    }

    @Override
    public Object run(ApplianceHandle handle, Job job) {
        throw new UnsupportedOperationException("resize runs through prepare(): it needs its output disk attached");
    }

    @Override
    public JobExecution prepare(Job job, List<Drive> disks) throws Exception {
        ResizeOptions o = options(job);
        Drive input = disks.get(0).withReadOnly(true);
        long inputSize;
        if (input.isLocal()) {
            ImageInfo info = probe.inspect(input.path(), input.format(), false);
            input = input.withFormat(info.format());
            inputSize = info.virtualSize();
        } else {
            // held open by the job (JobExecutor.checkDisks, probed once): a relative size is taken from its size
            try (io.guestflow.pool.RemoteImage remote = DiskOverlays.remoteHeld(input)) {
                inputSize = remote.virtualSize();
            }
        }
        long outputSize = o.size() == null ? inputSize : Sizes.diskSize(inputSize, o.size());
        outputSize = (outputSize + 511) / 512 * 512; // qemu-img rounds up to whole sectors
        if (outputSize < ResizePlanner.MAX_BOOTLOADER) {
            throw new JobRejectedException(job.jobId(), "output size " + outputSize + " bytes is too small to be a disk image");
        }
        String format = job.output() != null && job.output().format() != null ? job.output().format()
                : o.outputFormat() != null ? o.outputFormat()
                : ResizeOptions.OUTPUT_FORMATS.contains(input.format()) ? input.format() : "raw";
        if (o.dryRun()) {
            return new Execution(job.jobId(), o, List.of(input), outputSize, null, null, format, false);
        }
        Path finalPath = Drive.of(job.output().uri()).path().toAbsolutePath();
        Path dir = finalPath.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new JobRejectedException(job.jobId(), "output directory " + dir + " does not exist");
        }
        // beside the final name so the rename is atomic; a dot name so nobody takes it for a finished image
        Path temp = Files.createTempFile(dir, "." + finalPath.getFileName() + ".", ".resizing");
        try {
            // a temp file is private (0600); the finished image gets the usual rw-r--r--
            Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-r--r--"));
            createImage(temp, format, outputSize);
        } catch (RuntimeException | IOException | InterruptedException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        Drive out = new Drive(temp.toUri(), format, false, null);
        // the output first: see ResizeOperation on LVM's device names
        return new Execution(job.jobId(), o, List.of(out, input), outputSize, temp, finalPath, format,
                job.output().overwrite());
    }

    private static void createImage(Path path, String format, long size) throws IOException, InterruptedException {
        try {
            Subprocess.Result r = Subprocess.run(List.of("qemu-img", "create", "-q", "-f", format, path.toString(),
                    Long.toString(size)), Duration.ofSeconds(QEMU_IMG_TIMEOUT_SECONDS));
            if (r.exitCode() != 0) {
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, "qemu-img create " + format + " " + size
                        + " failed: " + (r.stdout() + r.stderr()).strip());
            }
        } catch (Subprocess.TimedOut e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, e.getMessage(), e);
        }
    }

    /** One attempt: the appliance run, then the rename; the temporary output goes on failure. */
    private final class Execution implements JobExecution {
        private final String jobId;
        private final ResizeOptions options;
        private final List<Drive> drives;
        private final long outputSize;
        private final Path temp;
        private final Path finalPath;
        private final String format;
        private final boolean overwrite;

        Execution(String jobId, ResizeOptions options, List<Drive> drives, long outputSize, Path temp, Path finalPath,
                  String format, boolean overwrite) {
            this.overwrite = overwrite;
            this.jobId = jobId;
            this.options = options;
            this.drives = new ArrayList<>(drives);
            this.outputSize = outputSize;
            this.temp = temp;
            this.finalPath = finalPath;
            this.format = format;
        }

        @Override
        public List<Drive> drives() {
            return drives;
        }

        @Override
        public Object run(ApplianceHandle handle) throws Exception {
            try {
                return new ResizeOperation(options).run(handle.gfs(), outputSize,
                        finalPath == null ? null : finalPath.toString(), format);
            } catch (ResizePlanner.ImpossiblePlanException e) {
                // bad input, found before anything was written; the temporary output is removed by close()
                throw new JobRejectedException(jobId, e.getMessage());
            }
        }

        @Override
        public Object finish(Object output) throws Exception {
            if (temp != null) {
                OutputClaim.publish(temp, finalPath, overwrite);
            }
            return output;
        }

        @Override
        public void close() {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException e) {
                    LOG.warn("cannot remove temporary output {}: {}", temp, e.getMessage());
                }
            }
        }
    }
}
