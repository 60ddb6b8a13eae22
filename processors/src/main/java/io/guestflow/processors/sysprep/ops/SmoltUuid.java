package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code smolt-uuid}: remove the Smolt hardware UUID. */
public final class SmoltUuid extends RemoveFiles {
    public SmoltUuid() {
        super("smolt-uuid", "Remove the Smolt hardware UUID", true, How.RM_QUIETLY,
                "/etc/sysconfig/hw-uuid",
                "/etc/smolt/uuid",
                "/etc/smolt/hw-uuid");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.linux(ctx);
    }
}
