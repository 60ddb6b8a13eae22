package io.guestflow.processors.job;

import io.guestflow.pool.ApplianceHandle;

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
}
