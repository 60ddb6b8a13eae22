package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.SysprepOperation;
import java.util.List;

/** virt-sysprep's {@code machine-id}: empty the machine ID files, so the clone makes its own at boot. */
public final class MachineId implements SysprepOperation {
    private static final List<String> FILES = List.of("/etc/machine-id", "/var/lib/dbus/machine-id");

    @Override
    public String name() {
        return "machine-id";
    }

    @Override
    public String description() {
        return "Remove the local machine ID";
    }

    @Override
    public boolean enabledByDefault() {
        return true;
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        for (String f : FILES) {
            if (ctx.isFile(f)) {
                ctx.truncate(f);
            }
        }
    }
}
