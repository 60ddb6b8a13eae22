package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code sssd-db-log}: remove the database and log files of sssd. */
public final class SssdDbLog extends RemoveFiles {
    public SssdDbLog() {
        super("sssd-db-log", "Remove the database and log files of sssd", true, How.RM_QUIETLY,
                "/var/log/sssd/*",
                "/var/lib/sss/db/*");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }
}
