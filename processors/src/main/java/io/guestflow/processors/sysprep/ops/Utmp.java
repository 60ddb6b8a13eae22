package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code utmp}: remove the utmp file. */
public final class Utmp extends RemoveFiles {
    public Utmp() {
        super("utmp", "Remove the utmp file", true, How.RM_QUIETLY,
                "/var/run/utmp");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }
}
