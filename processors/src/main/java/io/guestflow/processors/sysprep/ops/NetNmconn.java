package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code net-nmconn}: system-local NetworkManager connection profiles (keyfiles). */
public final class NetNmconn extends RemoveFiles {
    public NetNmconn() {
        super("net-nmconn", "Remove system-local NetworkManager connection profiles (keyfiles)", true,
                How.RM_QUIETLY, "/etc/NetworkManager/system-connections/*.nmconnection");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.redHatFamily(ctx);
    }
}
