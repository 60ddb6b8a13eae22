package io.guestflow.processors.inspect;

/**
 * Options of the inspect operation.
 *
 * @param applications list installed applications (mounts the guest read-only; the slowest part)
 */
public record InspectOptions(boolean applications) {
    public static InspectOptions defaults() {
        return new InspectOptions(true);
    }
}
