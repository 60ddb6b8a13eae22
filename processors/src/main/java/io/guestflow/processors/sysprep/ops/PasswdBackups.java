package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code passwd-backups}: remove /etc/passwd- and similar backup files. */
public final class PasswdBackups extends RemoveFiles {
    public PasswdBackups() {
        super("passwd-backups", "Remove /etc/passwd- and similar backup files", true, How.RM_QUIETLY,
                "/etc/group-",
                "/etc/gshadow-",
                "/etc/passwd-",
                "/etc/shadow-",
                "/etc/subgid-",
                "/etc/subuid-");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.linux(ctx);
    }
}
