package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;

/** virt-sysprep's {@code flag-reconfiguration} (not enabled by default): /.unconfigured asks for settings at first boot. */
public final class FlagReconfiguration extends NamedOperation {

    public FlagReconfiguration() {
        super("flag-reconfiguration", "Flag the system for reconfiguration", false);
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        ctx.touch("/.unconfigured");
    }
}
