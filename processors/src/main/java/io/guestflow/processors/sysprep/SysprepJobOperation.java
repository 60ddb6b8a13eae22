package io.guestflow.processors.sysprep;

import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.processors.job.DiskAccess;
import io.guestflow.processors.job.DiskOverlays;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecution;
import io.guestflow.processors.job.JobOperation;
import io.guestflow.processors.job.JobRejectedException;
import java.io.IOException;
import java.util.List;

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
        // remote disks: JobExecutor.checkRemoteWrites decides (a dry run reads them; writing needs remote-writes)
    }

    @Override
    public DiskAccess diskAccess(Job job) {
        return SysprepOptions.parse(job.jobId(), job.options(), hostScriptsAllowed).dryRun()
                ? DiskAccess.READ : DiskAccess.WRITE_IN_PLACE;
    }

    /** On the pipeline's overlays (or read-only disks for a dry run), which it commits itself. */
    @Override
    public Object run(ApplianceHandle handle, Job job) throws Exception {
        return new Sysprep(SysprepOptions.parse(job.jobId(), job.options(), hostScriptsAllowed)).run(handle.gfs(), handle.inspectOs());
    }

    @Override
    public JobExecution prepare(Job job, List<Drive> disks) throws Exception {
        SysprepOptions options = SysprepOptions.parse(job.jobId(), job.options(), hostScriptsAllowed);
        Sysprep sysprep = new Sysprep(options);
        if (options.dryRun()) {
            List<Drive> readOnly = disks.stream().map(d -> d.withReadOnly(true)).toList();
            return JobExecution.of(readOnly, h -> sysprep.run(h.gfs(), h.inspectOs()));
        }
        DiskOverlays.requireWritable(job.jobId(), disks, "sysprep changes it in place (a dry run only reads it)");
        return new OverlayExecution(disks, sysprep);
    }

    /** The disks behind qcow2 overlays; the overlays are committed into them at the end. */
    private static final class OverlayExecution implements JobExecution {
        private final Sysprep sysprep;
        private final DiskOverlays overlays;

        OverlayExecution(List<Drive> disks, Sysprep sysprep) throws IOException {
            this.sysprep = sysprep;
            this.overlays = new DiskOverlays(disks, false);
        }

        @Override
        public List<Drive> drives() {
            return overlays.drives();
        }

        @Override
        public boolean ownsBackingChains() {
            return true;
        }

        @Override
        public Object run(ApplianceHandle handle) throws Exception {
            return sysprep.run(handle.gfs(), handle.inspectOs());
        }

        @Override
        public Object finish(Object output) {
            overlays.commit();
            return output;
        }

        @Override
        public void close() {
            overlays.close();
        }
    }
}
