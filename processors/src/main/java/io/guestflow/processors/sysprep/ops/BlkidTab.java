package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code blkid-tab}: remove blkid tab in the guest. */
public final class BlkidTab extends RemoveFiles {
    public BlkidTab() {
        super("blkid-tab", "Remove blkid tab in the guest", true, How.RM_QUIETLY,
                "/var/run/blkid.tab",
                "/var/run/blkid.tab.old",
                "/etc/blkid/blkid.tab",
                "/etc/blkid/blkid.tab.old",
                "/etc/blkid.tab",
                "/etc/blkid.tab.old",
                "/dev/.blkid.tab",
                "/dev/.blkid.tab.old");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }

    @Override
    protected boolean keepsSymlinks() {
        return true;
    }
}
