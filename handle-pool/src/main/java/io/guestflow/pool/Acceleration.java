package io.guestflow.pool;

import java.util.Locale;

/** How qemu runs the appliance: hardware virtualisation, software emulation, or decided by a probe. */
public enum Acceleration {
    AUTO, KVM, TCG;

    public static Acceleration parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("acceleration must be auto, kvm or tcg, not '" + s + "'");
        }
    }
}
