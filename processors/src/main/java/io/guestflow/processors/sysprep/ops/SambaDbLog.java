package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code samba-db-log}: remove the database and log files of Samba. */
public final class SambaDbLog extends RemoveFiles {
    public SambaDbLog() {
        super("samba-db-log", "Remove the database and log files of Samba", true, How.RM_QUIETLY,
                "/var/log/samba/old/*",
                "/var/log/samba/*",
                "/var/lib/samba/*/*",
                "/var/lib/samba/*");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }
}
