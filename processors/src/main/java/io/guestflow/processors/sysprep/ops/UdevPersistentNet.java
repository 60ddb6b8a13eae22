package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code udev-persistent-net}: remove udev persistent net rules. */
public final class UdevPersistentNet extends RemoveFiles {
    public UdevPersistentNet() {
        super("udev-persistent-net", "Remove udev persistent net rules", true, How.RM_QUIETLY,
                "/etc/udev/rules.d/70-persistent-net.rules");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.linux(ctx);
    }
}
