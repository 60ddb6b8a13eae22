package io.guestflow.processors.job;

/**
 * How one job uses its disks. Pipelines plan their appliance launches from
 * it: which steps can share a launch, and what happens to the launch's
 * writes when a step fails.
 */
public enum DiskAccess {
    /** Reads the disks only (inspect, journal, dry runs). */
    READ,
    /** Changes only free space in place (in-place sparsify): stopped half-way, no data has changed. */
    TRIM_IN_PLACE,
    /** Changes data in place (sysprep): all or nothing, so a half-done run must be thrown away. */
    WRITE_IN_PLACE,
    /** Works on an overlay of its disk that becomes its output once the appliance is down (copy-mode sparsify). */
    COPY_TO_OUTPUT,
    /** Needs an appliance of its own with its own drive layout (resize: the new disk beside the old). */
    OWN_LAUNCH
}
