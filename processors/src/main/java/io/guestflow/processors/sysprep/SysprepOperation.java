package io.guestflow.processors.sysprep;

/**
 * One sysprep operation, as virt-sysprep 1.48 defines it: a name, whether it
 * runs by default, and what it does to a guest. Filesystem operations run
 * with the guest's filesystems mounted at their inspected mountpoints;
 * device operations (LVM and filesystem UUIDs) run after they are unmounted.
 * Adding one is one class in {@code ops/} and one line in
 * {@code META-INF/services/io.guestflow.processors.sysprep.SysprepOperation} (see {@link SysprepOperations}).
 */
public interface SysprepOperation {

    enum Phase { FILESYSTEMS, DEVICES }

    String name();

    /** One line, as {@code virt-sysprep --list-operations} prints it. */
    String description();

    boolean enabledByDefault();

    default Phase phase() {
        return Phase.FILESYSTEMS;
    }

    /** Operations run by order, then by name ({@code customize} runs last). */
    default int order() {
        return 0;
    }

    /** The job options this operation reads (with their flags and checks); none by default. */
    default java.util.List<OperationOption> options() {
        return java.util.List.of();
    }

    /** Null when the operation applies to this guest, otherwise why it is skipped. */
    default String skipReason(SysprepContext ctx) {
        return null;
    }

    /** Does the work through {@code ctx}, which records (or, in a dry run, only predicts) every change. */
    void perform(SysprepContext ctx) throws Exception;
}
