package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.RemoveFiles;

/** virt-sysprep's {@code dhcp-server-state}: remove DHCP server leases. */
public final class DhcpServerState extends RemoveFiles {
    public DhcpServerState() {
        super("dhcp-server-state", "Remove DHCP server leases", true, How.RM_RF,
                "/var/lib/dhcpd/*");
    }
}
