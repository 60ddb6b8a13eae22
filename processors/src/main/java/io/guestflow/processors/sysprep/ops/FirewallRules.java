package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code firewall-rules} (not enabled by default): remove the firewall rules. */
public final class FirewallRules extends RemoveFiles {
    public FirewallRules() {
        super("firewall-rules", "Remove the firewall rules", false, How.RM_QUIETLY,
                "/etc/sysconfig/iptables",
                "/etc/firewalld/services/*",
                "/etc/firewalld/zones/*");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }
}
