package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.SysprepContext;

/**
 * Rebuilds the guest's system CA store after certificates were removed: run
 * in the guest when its architecture matches the appliance's, otherwise
 * left to the guest's first boot.
 */
final class CaStore {
    private CaStore() {
    }

    static void update(SysprepContext ctx) throws Exception {
        String command;
        if (GuestScope.isRedHatFamily(ctx)) {
            command = "update-ca-trust extract";
        } else if (ctx.type().equals("linux") && (ctx.distro().equals("debian") || ctx.distro().equals("ubuntu")
                || ctx.distro().equals("kalilinux"))) {
            command = "update-ca-certificates";
        } else {
            return; // as virt-sysprep: nothing known to run on this guest
        }
        ctx.runInGuest(command);
    }
}
