package io.guestflow.processors.info;

import com.fasterxml.jackson.databind.JsonNode;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.ImageFacts;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobOperation;
import io.guestflow.processors.job.JobRejectedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The {@code info} job type: {@code qemu-img info} and {@code check} facts of
 * each disk (format, virtual and allocated size, cluster size, snapshots,
 * dirty and corrupt flags, the backing chain as far as policy allows),
 * without launching anything. A fleet-wide pre-check that takes seconds for
 * thousands of images. Option: {@code check} (boolean, default true).
 * Every file qemu-img opens has passed the pool's image policy first
 * ({@link ImageFacts}); what the policy refuses of the image itself rejects
 * the job, a backing chain is followed as far as the policy allows.
 */
public final class InfoJobOperation implements JobOperation {
    /** No single qemu-img call of an info job takes longer than this (or the job's own timeout). */
    static final Duration MAX_CALL = Duration.ofMinutes(5);

    /** The result's {@code output}. */
    public record InfoReport(List<ImageFacts.Disk> disks) {
    }

    @Override
    public String type() {
        return "info";
    }

    @Override
    public String description() {
        return "image facts from qemu-img (format, sizes, snapshots, dirty/corrupt, backing chain); launches nothing";
    }

    @Override
    public boolean readOnly() {
        return true;
    }

    @Override
    public boolean launches() {
        return false;
    }

    @Override
    public String refusesKeys() {
        return "info launches no appliance (its facts come from qemu-img, outside the guest), so it opens no LUKS"
                + " container; submit it without keys";
    }

    @Override
    public void validate(Job job) {
        check(job);
        for (Job.Disk d : job.disks()) {
            if (!Drive.of(d.uri()).isLocal()) {
                throw new JobRejectedException(job.jobId(), "info reads local images only; "
                        + Drive.redact(d.uri()) + " is remote");
            }
            if (d.label() != null) {
                throw new JobRejectedException(job.jobId(), "info attaches nothing: disk labels do not apply");
            }
        }
        if (job.output() != null) {
            throw new JobRejectedException(job.jobId(), "info writes nothing: no output");
        }
    }

    private static boolean check(Job job) {
        boolean check = true;
        for (Iterator<String> it = job.options().fieldNames(); it.hasNext(); ) {
            String name = it.next();
            JsonNode v = job.options().get(name);
            if (name.equals("check")) {
                if (!v.isBoolean()) {
                    throw new JobRejectedException(job.jobId(), "option 'check' must be true or false");
                }
                check = v.asBoolean();
            } else {
                throw JobRejectedException.unknownOption(job.jobId(), "info", name, List.of("check"));
            }
        }
        return check;
    }

    @Override
    public Object run(ApplianceHandle handle, Job job) {
        throw new IllegalStateException("info launches no appliance");
    }

    @Override
    public InfoReport runWithoutAppliance(Job job, HandlePool pool) {
        Duration perCall = Duration.ofSeconds(Math.min(job.timeoutSeconds(), MAX_CALL.toSeconds()));
        // the pool's image policy vets every file before qemu-img opens it
        ImageFacts facts = new ImageFacts(pool.imageProbe(), perCall);
        boolean withCheck = check(job);
        List<ImageFacts.Disk> disks = new ArrayList<>();
        for (Job.Disk d : job.disks()) {
            Drive drive = new Drive(Drive.parseUri(d.uri()), d.format(), true, null);
            ImageFacts.Disk disk = facts.of(drive.path(), drive.format(), pool.config().allowBackingFiles(), withCheck);
            disks.add(disk);
            if (Thread.currentThread().isInterrupted()) {
                throw new GuestflowException(ErrorCode.POOL_CLOSED, "info job " + job.jobId() + " interrupted");
            }
        }
        return new InfoReport(disks);
    }
}
