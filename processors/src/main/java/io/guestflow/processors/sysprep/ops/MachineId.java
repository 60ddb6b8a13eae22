package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;
import java.util.List;

/** virt-sysprep's {@code machine-id}: empty the machine ID files, so the clone makes its own at boot. */
public final class MachineId extends NamedOperation {
    private static final List<String> FILES = List.of("/etc/machine-id", "/var/lib/dbus/machine-id");

    public MachineId() {
        super("machine-id", "Remove the local machine ID", true);
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
