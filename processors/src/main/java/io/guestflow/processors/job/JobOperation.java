package io.guestflow.processors.job;

import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;

import java.util.List;

/**
 * One job type: checks its options before anything runs, then does its work
 * on a launched appliance. Knows nothing of Kafka or Camel.
 */
public interface JobOperation {
    /** The job type, e.g. {@code inspect}. */
    String type();

    /** One line for help texts and the registry listing. */
    String description();

    /** Whether the job's disks are attached read-only. */
    boolean readOnly();

    /** Rejects bad options (unknown names, wrong types) with a {@link JobRejectedException}. */
    void validate(Job job);

    /** Runs the operation; the returned value is serialised as the result's {@code output}. */
    Object run(ApplianceHandle handle, Job job) throws Exception;

    /**
     * Sets up one attempt before any appliance exists: operations that write
     * a new image create it (or an overlay) here and attach that instead of,
     * or besides, the job's {@code disks}. The default attaches the disks and
     * calls {@link #run(ApplianceHandle, Job)}.
     */
    default JobExecution prepare(Job job, List<Drive> disks) throws Exception {
        return JobExecution.of(disks, h -> run(h, job));
    }
}
