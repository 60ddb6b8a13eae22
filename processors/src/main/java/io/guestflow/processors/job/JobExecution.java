package io.guestflow.processors.job;

import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;

import java.util.List;

/**
 * One attempt of a job, around its appliance: what to attach, what to do on
 * the launched appliance, and what to do once the appliance has shut down
 * (convert an overlay, rename a temporary output). {@link #close()} always
 * runs and removes whatever the attempt created but did not hand over, so a
 * failed attempt leaves no partial output behind.
 */
public interface JobExecution extends AutoCloseable {

    /** The drives to attach, in order. */
    List<Drive> drives();

    /**
     * True when {@link #drives()} include overlays this execution created over
     * inputs it already probed, so their backing files are expected.
     */
    default boolean ownsBackingChains() {
        return false;
    }

    /** Runs on the launched appliance, under the job's deadline. */
    Object run(ApplianceHandle handle) throws Exception;

    /** Runs after the appliance has shut down; returns the result's output. */
    default Object finish(Object output) throws Exception {
        return output;
    }

    /**
     * Jobs of more than one launch (pipelines): the execution of the next
     * launch, asked after {@link #finish(Object)} succeeded; null when the job
     * is done (the default). The output of the last execution's finish is the
     * job's output.
     */
    default JobExecution next() throws Exception {
        return null;
    }

    /**
     * Lets an execution that already did part of its job (a pipeline's earlier
     * steps) attach that to a failure of this launch: its launch, run, flush or
     * finish. The default returns {@code failure} unchanged.
     */
    default RuntimeException failed(RuntimeException failure) {
        return failure;
    }

    /** Removes temporary files; must not throw. */
    @Override
    default void close() {
    }

    /** The plain case: attach {@code drives}, run {@code body}. */
    static JobExecution of(List<Drive> drives, HandleBody body) {
        return new JobExecution() {
            @Override
            public List<Drive> drives() {
                return drives;
            }

            @Override
            public Object run(ApplianceHandle handle) throws Exception {
                return body.run(handle);
            }
        };
    }

    @FunctionalInterface
    interface HandleBody {
        Object run(ApplianceHandle handle) throws Exception;
    }
}
