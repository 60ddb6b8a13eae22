package io.guestflow.pool;

/**
 * Which appliance a handle boots.
 *
 * <ul>
 *   <li>{@link #SUPERMIN}: libguestfs's own, rebuilt from the host's files when
 *       they change; libguestfs runs supermin's check of every package file
 *       before every launch.</li>
 *   <li>{@link #FIXED}: a fixed appliance built once per machine and libguestfs
 *       version ({@link FixedAppliance}), with only the Augeas lenses that
 *       inspection loads, so each Augeas handle the daemon opens skips loading
 *       ~230 lens modules.</li>
 *   <li>{@link #FIXED_ALL_LENSES}: the same fixed appliance with every lens.</li>
 * </ul>
 */
public enum ApplianceKind {
    SUPERMIN, FIXED, FIXED_ALL_LENSES;

    /** Whether this is a fixed appliance the pool builds and points libguestfs's path at. */
    public boolean fixed() {
        return this != SUPERMIN;
    }
}
