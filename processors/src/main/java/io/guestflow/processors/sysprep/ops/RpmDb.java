package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;

/** virt-sysprep's {@code rpm-db}: remove host-specific RPM database files. */
public final class RpmDb extends RemoveFiles {
    public RpmDb() {
        super("rpm-db", "Remove host-specific RPM database files", true, How.RM_QUIETLY,
                "/var/lib/rpm/__db.*");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return ctx.packageFormat().equals("rpm") ? null : "the guest does not use RPM packages";
    }
}
