package io.guestflow.processors.sysprep;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import io.guestflow.processors.job.JobRejectedException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Seals the guests on a launched appliance the way virt-sysprep does: for
 * each inspected root, mount its filesystems at their mountpoints, run the
 * selected filesystem operations in order, unmount, then run the device
 * operations (LVM and filesystem UUIDs).
 */
public final class Sysprep {
    private static final Logger LOG = LoggerFactory.getLogger(Sysprep.class);

    private final SysprepOptions options;

    public Sysprep(SysprepOptions options) {
        this.options = options;
    }

    /** On the roots of an {@code inspect_os} of these disks as they are now. */
    public SysprepReport run(GuestFS g, String[] roots) throws LibGuestFSException {
        if (roots.length == 0) {
            throw new JobRejectedException(null, "no operating system was found on the disks; "
                    + "sysprep needs a guest to seal (nothing was changed)");
        }
        List<SysprepReport.Guest> guests = new ArrayList<>();
        int removed = 0;
        int changed = 0;
        for (String root : roots) {
            SysprepReport.Guest guest = runOn(g, root);
            guests.add(guest);
            for (OperationReport r : guest.operations()) {
                removed += r.getRemovedCount();
                changed += r.getChangedCount();
            }
        }
        return new SysprepReport(options.dryRun(), guests, removed, changed);
    }

    private SysprepReport.Guest runOn(GuestFS g, String root) throws LibGuestFSException {
        SysprepReport.Guest identity = new SysprepReport.Guest(root, g.inspect_get_type(root),
                g.inspect_get_distro(root), g.inspect_get_product_name(root), g.inspect_get_hostname(root),
                g.inspect_get_major_version(root), g.inspect_get_minor_version(root), g.inspect_get_arch(root),
                new ArrayList<>());
        mountGuest(g, root);
        SysprepContext ctx = new SysprepContext(g, root, options);
        for (SysprepOperation op : options.operations()) {
            if (op.phase() == SysprepOperation.Phase.FILESYSTEMS) {
                identity.operations().add(perform(ctx, op));
            }
        }
        g.umount_all();
        for (SysprepOperation op : options.operations()) {
            if (op.phase() == SysprepOperation.Phase.DEVICES) {
                identity.operations().add(perform(ctx, op));
            }
        }
        return identity;
    }

    /** Shortest mountpoint first, so / is mounted before /boot; read-only in a dry run. */
    private void mountGuest(GuestFS g, String root) throws LibGuestFSException {
        List<Map.Entry<String, String>> mps = new ArrayList<>(g.inspect_get_mountpoints(root).entrySet());
        mps.sort(Comparator.comparingInt((Map.Entry<String, String> e) -> e.getKey().length())
                .thenComparing(Map.Entry::getKey));
        for (Map.Entry<String, String> mp : mps) {
            try {
                if (options.dryRun()) {
                    g.mount_ro(mp.getValue(), mp.getKey());
                } else {
                    g.mount(mp.getValue(), mp.getKey());
                }
            } catch (LibGuestFSException e) {
                // as virt-sysprep: a filesystem that does not mount (e.g. an absent network mount) is skipped
                LOG.warn("sysprep: cannot mount {} on {}: {}", mp.getValue(), mp.getKey(), e.getMessage());
            }
        }
    }

    private static OperationReport perform(SysprepContext ctx, SysprepOperation op) {
        OperationReport report = new OperationReport(op.name());
        String skip = op.skipReason(ctx);
        if (skip != null) {
            report.skipped(skip);
            return report;
        }
        ctx.recordInto(report);
        try {
            op.perform(ctx);
        } catch (JobRejectedException e) {
            throw new JobRejectedException(null, "sysprep operation '" + op.name() + "': " + e.reason());
        } catch (Exception e) {
            // not a GuestflowException: the handle's translate() must still see a watchdog kill as TIMEOUT
            throw new IllegalStateException("sysprep operation '" + op.name() + "' failed on " + ctx.root()
                    + ": " + e.getMessage(), e);
        }
        report.ran();
        return report;
    }
}
