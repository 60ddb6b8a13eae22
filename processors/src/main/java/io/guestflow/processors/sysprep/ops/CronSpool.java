package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;

/**
 * virt-sysprep's {@code cron-spool}: users' cron and at jobs. The at
 * sequence files ({@code .SEQ}) are kept and reset to zero, as at expects them.
 */
public final class CronSpool extends NamedOperation {

    public CronSpool() {
        super("cron-spool", "Remove user at-jobs and cron-jobs", true);
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        removeFilesExceptSeq(ctx, "/var/spool/cron/");
        resetSeq(ctx, "/var/spool/cron/atjobs/.SEQ");
        for (String p : ctx.glob("/var/spool/atjobs/*")) {
            ctx.rm(p);
        }
        resetSeq(ctx, "/var/spool/atjobs/.SEQ");
        for (String p : ctx.glob("/var/spool/atspool/*")) {
            ctx.rm(p);
        }
        removeFilesExceptSeq(ctx, "/var/spool/at/");
        resetSeq(ctx, "/var/spool/at/.SEQ");
    }

    private static void removeFilesExceptSeq(SysprepContext ctx, String dir) throws Exception {
        for (String f : ctx.filesBelow(dir)) {
            if (!f.endsWith("/.SEQ")) {
                ctx.rm(f);
            }
        }
    }

    /** Overwritten in place, so owner, mode and SELinux label stay. */
    private static void resetSeq(SysprepContext ctx, String seq) throws Exception {
        if (ctx.g().is_file(seq)) {
            ctx.write(seq, "00000\n");
        }
    }
}
