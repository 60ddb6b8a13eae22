package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code ssh-userdir}: remove ".ssh" directories in the guest. */
public final class SshUserdir extends RemoveFiles {
    public SshUserdir() {
        super("ssh-userdir", "Remove \".ssh\" directories in the guest", true, How.RM_RF,
                "/home/*/.ssh",
                "/root/.ssh");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }
}
