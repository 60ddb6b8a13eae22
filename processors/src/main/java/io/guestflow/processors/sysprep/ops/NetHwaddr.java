package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;

/** virt-sysprep's {@code net-hwaddr}: hard-coded MAC addresses (HWADDR=) out of Red Hat-family ifcfg files. */
public final class NetHwaddr extends NamedOperation {

    public NetHwaddr() {
        super("net-hwaddr", "Remove HWADDR (hard-coded MAC address) configuration", true);
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.redHatFamily(ctx);
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        IfcfgLines.remove(ctx, l -> l.startsWith("HWADDR="));
    }
}
