package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code dovecot-data}: remove Dovecot (mail server) data. */
public final class DovecotData extends RemoveFiles {
    public DovecotData() {
        super("dovecot-data", "Remove Dovecot (mail server) data", true, How.RM_QUIETLY,
                "/var/lib/dovecot/*");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }
}
