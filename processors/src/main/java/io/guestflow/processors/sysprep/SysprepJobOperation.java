package io.guestflow.processors.sysprep;

import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.ImageProbe;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecution;
import io.guestflow.processors.job.JobOperation;
import io.guestflow.processors.job.JobRejectedException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code sysprep} job type: seals the guest on the job's disks in place.
 * The operations run on qcow2 overlays over the disks, which are committed
 * into the disks only after every operation succeeded and the appliance
 * flushed; a failed or killed job leaves the disks exactly as they were.
 * A dry run attaches the disks read-only and reports what would change.
 */
public final class SysprepJobOperation implements JobOperation {
    private final boolean hostScriptsAllowed;

    /** @param hostScriptsAllowed the configuration switch that lets the {@code script} operation run host commands */
    public SysprepJobOperation(boolean hostScriptsAllowed) {
        this.hostScriptsAllowed = hostScriptsAllowed;
    }

    @Override
    public String type() {
        return "sysprep";
    }

    @Override
    public String description() {
        return "seal a guest for cloning as virt-sysprep does: machine identity, logs, keys, caches; optional customizations";
    }

    @Override
    public boolean readOnly() {
        return false;
    }

    @Override
    public void validate(Job job) {
        SysprepOptions.parse(job.jobId(), job.options(), hostScriptsAllowed);
        if (job.output() != null) {
            throw new JobRejectedException(job.jobId(), "sysprep changes the disks in place; it takes no output");
        }
        for (Job.Disk d : job.disks()) {
            Drive drive = Drive.of(d.uri());
            if (!drive.isLocal()) {
                throw new JobRejectedException(job.jobId(), "sysprep writes the disks in place, so they must be local "
                        + "image files; " + Drive.redact(d.uri()) + " is remote (read-only here)");
            }
        }
    }

    @Override
    public Object run(ApplianceHandle handle, Job job) throws Exception {
        return new Sysprep(SysprepOptions.parse(job.jobId(), job.options(), hostScriptsAllowed)).run(handle.gfs());
    }

    @Override
    public JobExecution prepare(Job job, List<Drive> disks) throws Exception {
        SysprepOptions options = SysprepOptions.parse(job.jobId(), job.options(), hostScriptsAllowed);
        Sysprep sysprep = new Sysprep(options);
        if (options.dryRun()) {
            List<Drive> readOnly = disks.stream().map(d -> d.withReadOnly(true)).toList();
            return JobExecution.of(readOnly, h -> sysprep.run(h.gfs()));
        }
        for (Drive d : disks) {
            if (Files.exists(d.path()) && !Files.isWritable(d.path())) {
                throw new JobRejectedException(job.jobId(), "disk " + d.path() + " is not writable; sysprep changes "
                        + "it in place (a dry run only reads it)");
            }
        }
        return new OverlayExecution(disks, sysprep);
    }

    /** The disks behind qcow2 overlays; the overlays are committed into them at the end. */
    private static final class OverlayExecution implements JobExecution {
        private final Sysprep sysprep;
        private final Path dir;
        private final List<Drive> bases = new ArrayList<>();
        private final List<Path> overlays = new ArrayList<>();
        private final List<Drive> attached = new ArrayList<>();

        OverlayExecution(List<Drive> disks, Sysprep sysprep) throws IOException {
            this.sysprep = sysprep;
            this.dir = Files.createTempDirectory("guestflow-sysprep-");
            try {
                ImageProbe probe = new ImageProbe();
                for (int i = 0; i < disks.size(); i++) {
                    Drive base = probe.resolve(disks.get(i), false);
                    Path overlay = dir.resolve("overlay" + i + ".qcow2");
                    qemuImg("create", "-q", "-f", "qcow2", "-F", base.format(), "-b", base.path().toString(),
                            overlay.toString());
                    bases.add(base);
                    overlays.add(overlay);
                    attached.add(new Drive(overlay.toUri(), "qcow2", false, base.label()));
                }
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        @Override
        public List<Drive> drives() {
            return attached;
        }

        @Override
        public boolean ownsBackingChains() {
            return true;
        }

        @Override
        public Object run(ApplianceHandle handle) throws Exception {
            return sysprep.run(handle.gfs());
        }

        @Override
        public Object finish(Object output) throws Exception {
            for (int i = 0; i < overlays.size(); i++) {
                try {
                    // -d: the overlay is deleted next, no need to empty it
                    qemuImg("commit", "-q", "-d", overlays.get(i).toString());
                } catch (GuestflowException e) {
                    String done = i == 0 ? "no disk was changed" : "disks before " + bases.get(i).path() + " were sealed";
                    throw new GuestflowException(ErrorCode.OPERATION_FAILED, "committing the sealed state into "
                            + bases.get(i).path() + " failed (" + done + "): " + e.getMessage(), e);
                }
            }
            return output;
        }

        @Override
        public void close() {
            try {
                FileTrees.delete(dir);
            } catch (IOException ignored) {
                // a temporary directory of overlays; the pool's sweeper does not know it, but it is under java.io.tmpdir
            }
        }

        private static void qemuImg(String... args) {
            List<String> cmd = new ArrayList<>(List.of("qemu-img"));
            cmd.addAll(List.of(args));
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    throw new GuestflowException(ErrorCode.OPERATION_FAILED, "qemu-img " + args[0] + " failed: " + out);
                }
            } catch (IOException e) {
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot run qemu-img: " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new GuestflowException(ErrorCode.POOL_CLOSED, "interrupted while running qemu-img", e);
            }
        }
    }
}
