package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code puppet-data-log}: remove the data and log files of puppet. */
public final class PuppetDataLog extends RemoveFiles {
    public PuppetDataLog() {
        super("puppet-data-log", "Remove the data and log files of puppet", true, How.RM_QUIETLY,
                "/var/log/puppet/*",
                "/var/lib/puppet/*/*",
                "/var/lib/puppet/*/*/*");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }
}
