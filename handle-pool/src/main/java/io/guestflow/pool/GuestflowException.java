package io.guestflow.pool;

/** A failure with a stable {@link ErrorCode} and a message meant for the user. */
public class GuestflowException extends RuntimeException {
    private final ErrorCode code;

    public GuestflowException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public GuestflowException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }

    public boolean retryable() {
        return code.retryable();
    }

    @Override
    public String toString() {
        return code + ": " + getMessage();
    }
}
