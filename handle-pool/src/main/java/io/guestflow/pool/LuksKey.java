package io.guestflow.pool;

import java.util.Objects;

/**
 * A passphrase for LUKS containers, with the virt tools' {@code --key}
 * selector: one device (its libguestfs device name, {@code /dev/sda2} or
 * {@code /dev/vg/lv}, or the container's LUKS UUID), or every encrypted
 * device ({@link #ALL}). The passphrase is read from a file named by the job
 * and lives only in memory: {@link #toString()} never shows it.
 *
 * @param selector   a device name, a LUKS UUID, or {@link #ALL}
 * @param passphrase the key as cryptsetup takes it
 */
public record LuksKey(String selector, String passphrase) {
    /** The selector that applies a key to every encrypted device. */
    public static final String ALL = "all";

    public LuksKey {
        Objects.requireNonNull(selector, "selector");
        Objects.requireNonNull(passphrase, "passphrase");
    }

    /** Whether this key is one to try on the container {@code device} whose LUKS UUID is {@code uuid} (may be null). */
    public boolean appliesTo(String device, String uuid) {
        return ALL.equals(selector) || selector.equals(device) || (uuid != null && selector.equalsIgnoreCase(uuid));
    }

    @Override
    public String toString() {
        return "LuksKey[" + selector + ", " + Secrets.MASK + "]";
    }
}
