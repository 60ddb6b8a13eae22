package io.guestflow.processors.job;

import io.guestflow.processors.info.InfoJobOperation;
import io.guestflow.processors.inspect.InspectJobOperation;
import io.guestflow.processors.journal.JournalJobOperation;
import io.guestflow.processors.journal.JournalSink;
import io.guestflow.processors.pipeline.PipelineJobOperation;
import io.guestflow.processors.resize.ResizeJobOperation;
import io.guestflow.processors.sparsify.SparsifyJobOperation;
import io.guestflow.processors.sysprep.SysprepJobOperation;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Job type → operation. Every type the design names is known; the ones not
 * implemented yet are REJECTED as unsupported rather than crashed on.
 * Adding an operation is one class and one line in {@link #defaults()}.
 */
public final class OperationRegistry {
    /** The job types of the design (DESIGN.md). */
    public static final List<String> DESIGN_TYPES = List.of("inspect", "sysprep", "sparsify", "resize", "journal", "pipeline", "info");

    private final Map<String, JobOperation> operations = new LinkedHashMap<>();

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

    public OperationRegistry register(JobOperation op) {
        operations.put(op.type(), op);
        return this;
    }

    public boolean knows(String type) {
        return DESIGN_TYPES.contains(type) || operations.containsKey(type);
    }

    public boolean supports(String type) {
        return operations.containsKey(type);
    }

    public JobOperation get(String type) {
        JobOperation op = operations.get(type);
        if (op == null) {
            throw new IllegalArgumentException("no operation for job type '" + type + "'");
        }
        return op;
    }

    /** Every known type, sorted. */
    public Set<String> types() {
        Set<String> all = new TreeSet<>(DESIGN_TYPES);
        all.addAll(operations.keySet());
        return all;
    }

    public Set<String> supported() {
        return new TreeSet<>(operations.keySet());
    }
}
