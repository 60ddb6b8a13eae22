package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code rh-subscription-manager}: remove the RH subscription manager files. */
public final class RhSubscriptionManager extends RemoveFiles {
    public RhSubscriptionManager() {
        super("rh-subscription-manager", "Remove the RH subscription manager files", true, How.RM_RF,
                "/etc/pki/consumer/*",
                "/etc/pki/entitlement/*");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.rhel(ctx);
    }
}
