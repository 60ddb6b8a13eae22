package io.guestflow.cli;

import io.guestflow.pool.ErrorCode;

/** Exit codes of bin/guestflow, documented in the README. */
public final class ExitCodes {
    public static final int OK = 0;
    /** The operation ran and failed (guest or libguestfs error). */
    public static final int FAILED = 1;
    /** Wrong command-line usage. */
    public static final int USAGE = 2;
    /**
     * A disk was rejected before launch (missing, unreadable, empty, damaged, wrong format, backing file), or a
     * LUKS key opened nothing (after the launch).
     */
    public static final int BAD_INPUT = 3;
    /** The job's deadline passed and its appliance was killed. */
    public static final int TIMEOUT = 4;
    /** The appliance could not start (host set-up problem), or no slot was free. */
    public static final int APPLIANCE = 5;
    /** The engine could not become ready (broker, topics, results index) within startup-timeout-seconds. */
    public static final int NOT_READY = 6;

    private ExitCodes() {
    }

    public static int of(ErrorCode code) {
        return switch (code) {
            case INVALID_DRIVE, DISK_NOT_FOUND, DISK_UNREADABLE, DISK_EMPTY, DISK_CORRUPT, FORMAT_MISMATCH,
                 BACKING_FILE_REFUSED, IMAGE_REFUSED, REMOTE_HOST_REFUSED, WRONG_KEY -> BAD_INPUT;
            case TIMEOUT -> TIMEOUT;
            case LAUNCH_FAILED, LAUNCH_TIMEOUT, POOL_EXHAUSTED, POOL_CLOSED -> APPLIANCE;
            case APPLIANCE_CRASHED, OPERATION_FAILED, REMOTE_UNREACHABLE -> FAILED;
        };
    }
}
