package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code pam-data}: remove the PAM data in the guest. */
public final class PamData extends RemoveFiles {
    public PamData() {
        super("pam-data", "Remove the PAM data in the guest", true, How.RM_QUIETLY,
                "/var/run/console/*",
                "/var/run/faillock/*",
                "/var/run/sepermit/*");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }
}
