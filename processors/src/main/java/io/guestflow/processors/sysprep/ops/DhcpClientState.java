package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code dhcp-client-state}: remove DHCP client leases. */
public final class DhcpClientState extends RemoveFiles {
    public DhcpClientState() {
        super("dhcp-client-state", "Remove DHCP client leases", true, How.RM_RF,
                "/var/lib/dhclient/*",
                "/var/lib/dhcp/*");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.linux(ctx);
    }
}
