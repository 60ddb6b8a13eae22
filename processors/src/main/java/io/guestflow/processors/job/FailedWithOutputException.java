package io.guestflow.processors.job;

import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;

/**
 * A job that failed after doing part of its work, e.g. a pipeline whose
 * third step failed: the FAILED result carries {@link #output()} (what the
 * finished steps reported) besides the error.
 */
public class FailedWithOutputException extends GuestflowException {
    private final transient Object output;
    private final boolean retryable;

    /**
     * @param retryable whether running the whole job again may help; false when
     *                  a retry would repeat changes already made to the disks
     */
    public FailedWithOutputException(ErrorCode code, String message, Throwable cause, Object output, boolean retryable) {
        super(code, message, cause);
        this.output = output;
        this.retryable = retryable;
    }

    public Object output() {
        return output;
    }

    @Override
    public boolean retryable() {
        return retryable;
    }
}
