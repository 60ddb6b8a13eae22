package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code ssh-hostkeys}: remove the SSH host keys in the guest. */
public final class SshHostkeys extends RemoveFiles {
    public SshHostkeys() {
        super("ssh-hostkeys", "Remove the SSH host keys in the guest", true, How.RM,
                "/etc/ssh/*_host_*");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }
}
