package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;
import java.util.List;

/** virt-sysprep's {@code tmp-files}: everything in /tmp and /var/tmp, hidden files included. */
public final class TmpFiles extends NamedOperation {

    public TmpFiles() {
        super("tmp-files", "Remove temporary files", true);
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        for (String dir : List.of("/tmp", "/var/tmp")) {
            if (!ctx.isDir(dir) && !ctx.g().is_dir(dir)) {
                continue;
            }
            // ls, unlike a glob, also lists dot files
            for (String name : ctx.g().ls(dir)) {
                ctx.rmRf(dir + "/" + name);
            }
        }
    }
}
