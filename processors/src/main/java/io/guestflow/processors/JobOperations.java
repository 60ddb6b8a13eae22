package io.guestflow.processors;

import io.guestflow.processors.info.InfoJobOperation;
import io.guestflow.processors.inspect.InspectJobOperation;
import io.guestflow.processors.job.OperationRegistry;
import io.guestflow.processors.journal.JournalJobOperation;
import io.guestflow.processors.journal.JournalSink;
import io.guestflow.processors.pipeline.PipelineJobOperation;
import io.guestflow.processors.resize.ResizeJobOperation;
import io.guestflow.processors.sparsify.SparsifyJobOperation;
import io.guestflow.processors.sysprep.SysprepJobOperation;

/**
 * The registry of every implemented job operation. It stands above the
 * operation packages, which use {@code processors.job} but are not used by
 * it. Adding an operation is one class and one line in
 * {@link #defaults(boolean, JournalSink.Factory)}.
 */
public final class JobOperations {
    private JobOperations() {
    }

    /** Every implemented operation, with host scripts of sysprep refused. */
    public static OperationRegistry defaults() {
        return defaults(false);
    }

    /**
     * @param sysprepHostScripts the configuration switch that lets sysprep's
     *                           {@code script} operation run commands on the engine host
     */
    public static OperationRegistry defaults(boolean sysprepHostScripts) {
        return defaults(sysprepHostScripts, null);
    }

    /**
     * @param journalSinks where journal jobs publish their entries; null for a
     *                     registry that only validates jobs
     */
    public static OperationRegistry defaults(boolean sysprepHostScripts, JournalSink.Factory journalSinks) {
        OperationRegistry registry = new OperationRegistry()
                .register(new InspectJobOperation())
                .register(new InfoJobOperation())
                .register(new SysprepJobOperation(sysprepHostScripts))
                .register(new SparsifyJobOperation())
                .register(new ResizeJobOperation())
                .register(journalSinks == null ? JournalJobOperation.validateOnly() : new JournalJobOperation(journalSinks));
        // its steps are the operations above, with the same settings
        return registry.register(new PipelineJobOperation(registry));
    }
}
