package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.SysprepOperation;

/** virt-sysprep's {@code flag-reconfiguration} (not enabled by default): /.unconfigured asks for settings at first boot. */
public final class FlagReconfiguration implements SysprepOperation {

    @Override
    public String name() {
        return "flag-reconfiguration";
    }

    @Override
    public String description() {
        return "Flag the system for reconfiguration";
    }

    @Override
    public boolean enabledByDefault() {
        return false;
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
