package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code bash-history}: remove the bash history in the guest. */
public final class BashHistory extends RemoveFiles {
    public BashHistory() {
        super("bash-history", "Remove the bash history in the guest", true, How.RM_QUIETLY,
                "/home/*/.bash_history",
                "/root/.bash_history");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }
}
