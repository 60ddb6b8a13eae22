package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;
import java.util.Arrays;

/** virt-sysprep's {@code lvm-uuids}: new random UUIDs for every LVM physical volume and volume group. */
public final class LvmUuids extends NamedOperation {

    public LvmUuids() {
        super("lvm-uuids", "Change LVM2 PV and VG UUIDs", true);
    }

    @Override
    public Phase phase() {
        return Phase.DEVICES;
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.linux(ctx);
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        var g = ctx.g();
        if (!g.feature_available(new String[] {"lvm2"})) {
            return;
        }
        String[] pvs = g.pvs();
        String[] vgs = g.vgs();
        if (pvs.length == 0 && vgs.length == 0) {
            return;
        }
        ctx.changedDevice("LVM PV UUIDs of " + String.join(", ", Arrays.asList(pvs))
                + "; VG UUIDs of " + String.join(", ", Arrays.asList(vgs)), () -> {
                    g.vg_activate_all(false);
                    if (pvs.length > 0) {
                        g.pvchange_uuid_all();
                    }
                    if (vgs.length > 0) {
                        g.vgchange_uuid_all();
                    }
                    g.vg_activate_all(true);
                });
    }
}
