package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;

/** virt-sysprep's {@code net-hostname}: HOSTNAME= and DHCP_HOSTNAME= out of Red Hat-family ifcfg files. */
public final class NetHostname extends NamedOperation {

    public NetHostname() {
        super("net-hostname", "Remove HOSTNAME and DHCP_HOSTNAME in network interface configuration", true);
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.redHatFamily(ctx);
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        IfcfgLines.remove(ctx, l -> l.startsWith("HOSTNAME=") || l.startsWith("DHCP_HOSTNAME="));
    }
}
