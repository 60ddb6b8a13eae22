package io.guestflow.pool;

/**
 * What {@code qemu-img info} says of a local image.
 *
 * @param format       the format qemu-img detected (or confirmed)
 * @param virtualSize  the guest-visible size in bytes
 * @param actualSize   bytes allocated on the host
 * @param backingFile  the backing file name, or {@code null}
 */
public record ImageInfo(String format, long virtualSize, long actualSize, String backingFile) {
}
