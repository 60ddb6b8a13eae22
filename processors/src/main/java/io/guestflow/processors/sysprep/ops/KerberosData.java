package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;
import java.util.Set;

/** virt-sysprep's {@code kerberos-data} (not enabled by default): the KDC's data, but not its configuration. */
public final class KerberosData extends RemoveFiles {
    public KerberosData() {
        super("kerberos-data", "Remove Kerberos data in the guest", false, How.RM_QUIETLY,
                "/var/kerberos/krb5kdc/*");
    }

    @Override
    protected Set<String> kept() {
        return Set.of("/var/kerberos/krb5kdc/kadm5.acl", "/var/kerberos/krb5kdc/kdc.conf");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }
}
