package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code kerberos-hostkeytab}: remove the Kerberos host keytab file in the guest. */
public final class KerberosHostkeytab extends RemoveFiles {
    public KerberosHostkeytab() {
        super("kerberos-hostkeytab", "Remove the Kerberos host keytab file in the guest", true, How.RM_QUIETLY,
                "/etc/krb5.keytab");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }
}
