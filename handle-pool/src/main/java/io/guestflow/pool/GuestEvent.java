package io.guestflow.pool;

/**
 * One libguestfs event of a handle, as delivered to its callback.
 *
 * @param handleId the handle's identifier (the job id when leased for a job)
 * @param kind     which event class fired
 * @param message  the event's text (log line, trace line), stripped; empty for progress
 * @param position for {@link Kind#PROGRESS}: bytes/units done, else 0
 * @param total    for {@link Kind#PROGRESS}: bytes/units in all, else 0
 */
public record GuestEvent(String handleId, Kind kind, String message, long position, long total) {

    public enum Kind {
        CLOSE, SUBPROCESS_QUIT, LAUNCH_DONE, PROGRESS, APPLIANCE, LIBRARY, TRACE, ENTER, LIBVIRT_AUTH, WARNING, UNKNOWN
    }

    /** Progress as a percentage, or -1 when this is not a progress event. */
    public double percent() {
        return kind == Kind.PROGRESS && total > 0 ? 100.0 * position / total : -1;
    }
}
