package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code rhn-systemid}: remove the RHN system ID. */
public final class RhnSystemid extends RemoveFiles {
    public RhnSystemid() {
        super("rhn-systemid", "Remove the RHN system ID", true, How.RM_QUIETLY,
                "/etc/sysconfig/rhn/systemid",
                "/etc/sysconfig/rhn/osad-auth.conf");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.rhel(ctx);
    }
}
