package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;

/** virt-sysprep's {@code pacct-log}: process accounting logs, leaving one empty log where accounting writes. */
public final class PacctLog extends NamedOperation {

    public PacctLog() {
        super("pacct-log", "Remove the process accounting log files", true);
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return dir(ctx) == null ? "applies to Red Hat-family and Debian-family Linux only" : null;
    }

    private static String dir(SysprepContext ctx) {
        if (GuestScope.isRedHatFamily(ctx)) {
            return "/var/account";
        }
        if (ctx.type().equals("linux") && (ctx.distro().equals("debian") || ctx.distro().equals("ubuntu")
                || ctx.distro().equals("kalilinux"))) {
            return "/var/log/account";
        }
        return null;
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        String dir = dir(ctx);
        for (String p : ctx.glob(dir + "/pacct*")) {
            ctx.rmQuietly(p);
        }
        if (ctx.isDir(dir)) {
            ctx.touch(dir + "/pacct");
        }
    }
}
