package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * virt-sysprep's {@code fs-uuids} (not enabled by default): a new random UUID
 * for every filesystem that can take one. Like virt-sysprep it does not
 * update /etc/fstab or the boot loader, so the guest may no longer boot.
 */
public final class FsUuids extends NamedOperation {

    public FsUuids() {
        super("fs-uuids", "Change filesystem UUIDs", false);
    }

    @Override
    public Phase phase() {
        return Phase.DEVICES;
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        var g = ctx.g();
        Map<String, String> fses = new TreeMap<>(g.list_filesystems());
        for (Map.Entry<String, String> fs : fses.entrySet()) {
            String dev = fs.getKey();
            if (fs.getValue().equals("unknown") || dev.startsWith("btrfsvol:")) {
                continue;
            }
            try {
                ctx.changedDevice("filesystem UUID of " + dev, () -> g.set_uuid(dev, UUID.randomUUID().toString()));
            } catch (com.redhat.et.libguestfs.LibGuestFSException e) {
                // virt-sysprep warns and goes on: some filesystem types cannot take a new UUID
                ctx.warn("cannot set a random UUID on " + dev + " (" + fs.getValue() + "): " + e.getMessage());
            }
        }
    }
}
