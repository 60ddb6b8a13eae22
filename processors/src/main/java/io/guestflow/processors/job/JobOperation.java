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

    /**
     * Whether the job needs an appliance. One that does not (info) runs in
     * {@link #runWithoutAppliance} and takes no appliance slot.
     */
    default boolean launches() {
        return true;
    }

    /** The work of a job type that {@link #launches() launches} nothing. */
    default Object runWithoutAppliance(Job job, io.guestflow.pool.HandlePool pool) throws Exception {
        throw new UnsupportedOperationException(type() + " needs an appliance");
    }

    /**
     * Why a job of this type takes no LUKS keys ({@link Job#keys()}), or null
     * when it takes them: the executor opens the containers they unlock right
     * after each launch, before {@link #run}. The default takes them.
     */
    default String refusesKeys() {
        return null;
    }

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

    /**
     * How a job of this type uses its disks, decided from its options alone:
     * a pipeline asks before it knows each step's disks and output. May reject
     * invalid options. The default follows {@link #readOnly()}.
     */
    default DiskAccess diskAccess(Job job) {
        return readOnly() ? DiskAccess.READ : DiskAccess.WRITE_IN_PLACE;
    }

    /**
     * The host paths {@code job}'s options name, besides its disks and output
     * (a sparsify {@code tmpDir}), for the {@link PathPolicy}. The default: none.
     */
    default List<PathPolicy.HostPath> hostPaths(Job job) {
        return List.of();
    }

    /** Whether a job of this type writes a new image (the job's output), decided from its options alone. */
    default boolean producesOutput(Job job) {
        return false;
    }

    /**
     * This job as one step of a pipeline, on an appliance the pipeline
     * launches with {@code attached} in place of the job's disks: the job's
     * disks read-only for {@link DiskAccess#READ}, writable overlays over them
     * (committed by the pipeline before {@link JobExecution#finish}) for the
     * in-place kinds. Only run, finish and close of the returned execution are
     * used. Operations whose access is {@link DiskAccess#COPY_TO_OUTPUT} or
     * {@link DiskAccess#OWN_LAUNCH} are prepared with {@link #prepare} instead,
     * and their drives are the launch's. The default runs {@link #run}.
     */
    default JobExecution prepareStep(Job job, List<Drive> attached) throws Exception {
        return JobExecution.of(attached, h -> run(h, job));
    }
}
