package io.guestflow.processors.inspect;

import com.redhat.et.libguestfs.Application2;
import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import io.guestflow.processors.inspect.InspectionReport.Application;
import io.guestflow.processors.inspect.InspectionReport.Filesystem;
import io.guestflow.processors.inspect.InspectionReport.Mountpoint;
import io.guestflow.processors.inspect.InspectionReport.OperatingSystem;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inspection over a launched handle: every fact virt-inspector reports, per
 * operating system found, read with the libguestfs inspection API. Guests
 * are only ever mounted read-only, and only to list applications.
 */
public final class InspectOperation {
    private static final Logger LOG = LoggerFactory.getLogger(InspectOperation.class);
    private static final String UNKNOWN = "unknown";

    /** virt-inspector's order: shortest mountpoint first, then by name. */
    static final Comparator<String> MOUNTPOINT_ORDER =
            Comparator.comparingInt(String::length).thenComparing(Comparator.naturalOrder());

    private final InspectOptions options;

    public InspectOperation(InspectOptions options) {
        this.options = options;
    }

    public InspectionReport run(GuestFS g) throws LibGuestFSException {
        return run(g, g.inspect_os());
    }

    /** The operating systems at {@code roots}, from an {@code inspect_os} of these disks as they are now. */
    public InspectionReport run(GuestFS g, String[] roots) throws LibGuestFSException {
        List<OperatingSystem> found = new ArrayList<>();
        for (String root : roots) {
            found.add(inspectRoot(g, root, UnaryOperator.identity()));
        }
        return new InspectionReport(List.copyOf(found));
    }

    /**
     * One operating system found by an earlier {@code inspect_os}.
     * {@code deviceNames} turns the appliance's canonical device names into the
     * ones the guest would have alone (identity unless several guests share the
     * appliance); lists are sorted after that mapping, as they would be alone.
     */
    public OperatingSystem inspectRoot(GuestFS g, String root, UnaryOperator<String> deviceNames)
            throws LibGuestFSException {
        return inspectRoot(g, root, UnaryOperator.identity(), deviceNames);
    }

    /**
     * As {@link #inspectRoot(GuestFS, String, UnaryOperator)}, where the
     * devices inspection resolved from the guest's fstab first go through
     * {@code resolve} (canonical name to canonical name), before anything is
     * read from them or mounted: a shared appliance uses it to replace another
     * guest's copy of a filesystem (same UUID or label) by the guest's own.
     */
    public OperatingSystem inspectRoot(GuestFS g, String root, UnaryOperator<String> resolve,
                                       UnaryOperator<String> deviceNames) throws LibGuestFSException {
        // each getter is a daemon round trip (~0.2 s with TCG): none is asked twice, and the
        // Windows-only ones only of Windows guests (the others answer with an error or nothing)
        String type = known(g.inspect_get_type(root));
        boolean windows = "windows".equals(type);
        Map<String, String> mps = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : g.inspect_get_mountpoints(root).entrySet()) {
            mps.put(e.getKey(), resolve.apply(g.canonical_device_name(e.getValue())));
        }
        List<Application> apps = null;
        if (options.applications()) {
            apps = applications(g, root, mps);
        }
        return new OperatingSystem(
                deviceNames.apply(g.canonical_device_name(root)),
                type,
                known(g.inspect_get_arch(root)),
                known(g.inspect_get_distro(root)),
                known(g.inspect_get_product_name(root)),
                known(g.inspect_get_product_variant(root)),
                g.inspect_get_major_version(root),
                g.inspect_get_minor_version(root),
                known(g.inspect_get_package_format(root)),
                known(g.inspect_get_package_management(root)),
                known(g.inspect_get_hostname(root)),
                known(g.inspect_get_osinfo(root)),
                windows ? orNull(() -> g.inspect_get_windows_systemroot(root)) : null,
                windows ? orNull(() -> g.inspect_get_windows_current_control_set(root)) : null,
                windows ? driveMappings(g, root, deviceNames) : null,
                mountpoints(mps, deviceNames),
                filesystems(g, root, resolve, deviceNames),
                apps);
    }

    /** {@code mps}: path to resolved canonical device. */
    private static List<Mountpoint> mountpoints(Map<String, String> mps, UnaryOperator<String> deviceNames) {
        List<Mountpoint> out = new ArrayList<>();
        for (String path : mps.keySet().stream().sorted(MOUNTPOINT_ORDER).toList()) {
            out.add(new Mountpoint(deviceNames.apply(mps.get(path)), path));
        }
        return out;
    }

    private static List<Filesystem> filesystems(GuestFS g, String root, UnaryOperator<String> resolve,
                                                UnaryOperator<String> deviceNames) throws LibGuestFSException {
        // sorted by libguestfs's own names, mapped: the order the guest gets when alone
        List<String> devices = Arrays.stream(g.inspect_get_filesystems(root)).map(resolve)
                .sorted(Comparator.comparing(deviceNames)).toList();
        List<Filesystem> out = new ArrayList<>();
        for (String dev : devices) {
            String device = resolve.apply(g.canonical_device_name(dev));
            out.add(new Filesystem(deviceNames.apply(device),
                    nonEmpty(orNull(() -> g.vfs_type(device))),
                    nonEmpty(orNull(() -> g.vfs_label(device))),
                    nonEmpty(orNull(() -> g.vfs_uuid(device)))));
        }
        return out;
    }

    /** Windows drive letters; null for guests that have none. */
    private static Map<String, String> driveMappings(GuestFS g, String root, UnaryOperator<String> deviceNames)
            throws LibGuestFSException {
        Map<String, String> raw;
        try {
            raw = g.inspect_get_drive_mappings(root);
        } catch (LibGuestFSException e) {
            return null;
        }
        if (raw == null || raw.isEmpty()) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String letter : raw.keySet().stream().sorted(String.CASE_INSENSITIVE_ORDER).toList()) {
            out.put(letter, deviceNames.apply(g.canonical_device_name(raw.get(letter))));
        }
        return out;
    }

    /** Mounts the guest read-only as its fstab says, lists applications, unmounts. */
    private static List<Application> applications(GuestFS g, String root, Map<String, String> mps)
            throws LibGuestFSException {
        for (String path : mps.keySet().stream().sorted(MOUNTPOINT_ORDER).toList()) {
            try {
                g.mount_ro(mps.get(path), path);
            } catch (LibGuestFSException e) {
                // a missing /home must not hide the package list, as with virt-inspector
                LOG.debug("cannot mount {} on {}: {}", mps.get(path), path, e.getMessage());
            }
        }
        try {
            List<Application> out = new ArrayList<>();
            for (Application2 a : g.inspect_list_applications2(root)) {
                out.add(new Application(a.app2_name, nonEmpty(a.app2_display_name),
                        a.app2_epoch == 0 ? null : a.app2_epoch, nonEmpty(a.app2_version),
                        nonEmpty(a.app2_release), nonEmpty(a.app2_arch), nonEmpty(a.app2_install_path),
                        nonEmpty(a.app2_publisher), nonEmpty(a.app2_url), nonEmpty(a.app2_source_package),
                        nonEmpty(a.app2_summary), nonEmpty(a.app2_description)));
            }
            return out;
        } finally {
            g.umount_all();
        }
    }

    private interface Call {
        String get() throws LibGuestFSException;
    }

    private static String orNull(Call c) {
        try {
            return c.get();
        } catch (LibGuestFSException e) {
            return null;
        }
    }

    private static String known(String s) {
        return s == null || s.equals(UNKNOWN) ? null : s;
    }

    private static String nonEmpty(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
