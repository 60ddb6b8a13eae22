package io.guestflow.processors.sysprep;

import java.util.Set;

/** The guest kinds most operations are limited to, with the reason given when they are skipped. */
public final class GuestScope {
    private static final Set<String> REDHAT_FAMILY =
            Set.of("fedora", "rhel", "centos", "scientificlinux", "oraclelinux", "redhat-based");

    private GuestScope() {
    }

    public static String notWindows(SysprepContext ctx) {
        return ctx.type().equals("windows") ? "does not apply to Windows guests" : null;
    }

    public static String linux(SysprepContext ctx) {
        return ctx.type().equals("linux") ? null : "applies to Linux guests only (this is " + ctx.type() + ")";
    }

    public static boolean isRedHatFamily(SysprepContext ctx) {
        return ctx.type().equals("linux") && REDHAT_FAMILY.contains(ctx.distro());
    }

    public static String redHatFamily(SysprepContext ctx) {
        return isRedHatFamily(ctx) ? null
                : "applies to Fedora/RHEL-family Linux only (this is " + ctx.type() + "/" + ctx.distro() + ")";
    }

    public static String rhel(SysprepContext ctx) {
        return ctx.type().equals("linux") && ctx.distro().equals("rhel") ? null
                : "applies to RHEL only (this is " + ctx.type() + "/" + ctx.distro() + ")";
    }
}
