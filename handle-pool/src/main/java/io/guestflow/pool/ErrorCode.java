package io.guestflow.pool;

/**
 * Why a handle, a drive or a job failed. The code is what results carry;
 * {@link #retryable()} says whether running the same job again may help
 * (bad input never does).
 */
public enum ErrorCode {
    /** The drive's URI, format name or label is malformed. */
    INVALID_DRIVE(false),
    /** The image file does not exist. */
    DISK_NOT_FOUND(false),
    /** The image exists but cannot be read (permissions, not a regular file). */
    DISK_UNREADABLE(false),
    /** The image file has zero length. */
    DISK_EMPTY(false),
    /** qemu-img cannot open the image with its format: truncated or damaged. */
    DISK_CORRUPT(false),
    /** The declared format does not match the file's content. */
    FORMAT_MISMATCH(false),
    /** The image has a backing file, which would let it make the appliance read other host files. */
    BACKING_FILE_REFUSED(false),
    /**
     * The image's format or one of its features is not in the allowlist, it is too large, or it makes
     * qemu open a file that is not a regular file under the image root (data file, extent, backing file).
     */
    IMAGE_REFUSED(false),
    /** A disk URI names a remote host that is not in the allowed list ({@code guestflow.pool.remote-hosts}). */
    REMOTE_HOST_REFUSED(false),
    /** An allowed remote host did not serve the disk (connection refused, no such export, timeout). */
    REMOTE_UNREACHABLE(true),
    /** The appliance did not start. */
    LAUNCH_FAILED(true),
    /** The appliance did not start within the launch timeout and was killed. */
    LAUNCH_TIMEOUT(true),
    /** The job outlived its deadline; its appliance was killed. */
    TIMEOUT(false),
    /** The appliance died while the job ran. */
    APPLIANCE_CRASHED(true),
    /** A libguestfs call failed for a reason of the guest or the operation. */
    OPERATION_FAILED(false),
    /**
     * A LUKS container that a job's key applies to did not open with any of them: a wrong passphrase. The
     * message names the device, never a key; running the job again cannot help.
     */
    WRONG_KEY(false),
    /** No handle became free within the lease timeout. */
    POOL_EXHAUSTED(true),
    /** The pool is shutting down and leases no more handles. */
    POOL_CLOSED(true);

    private final boolean retryable;

    ErrorCode(boolean retryable) {
        this.retryable = retryable;
    }

    public boolean retryable() {
        return retryable;
    }
}
