package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code yum-uuid}: remove the yum UUID. */
public final class YumUuid extends RemoveFiles {
    public YumUuid() {
        super("yum-uuid", "Remove the yum UUID", true, How.RM_QUIETLY,
                "/var/lib/yum/uuid");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return ctx.packageManagement().equals("yum") ? null : "the guest does not use yum";
    }
}
