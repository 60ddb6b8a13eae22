package io.guestflow.processors.job;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Job type → operation. A job whose type has no operation here is REJECTED
 * as unknown. The registry of every implemented operation is built one level
 * up, by {@code JobOperations} in {@code processors}, so that this package,
 * which the operations use, imports none of them.
 */
public final class OperationRegistry {
    private final Map<String, JobOperation> operations = new LinkedHashMap<>();

    public OperationRegistry register(JobOperation op) {
        operations.put(op.type(), op);
        return this;
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

    /** Every type with an operation, sorted. */
    public Set<String> supported() {
        return new TreeSet<>(operations.keySet());
    }
}
