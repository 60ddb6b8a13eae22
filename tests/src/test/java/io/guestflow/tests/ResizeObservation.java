package io.guestflow.tests;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import com.redhat.et.libguestfs.PV;
import com.redhat.et.libguestfs.Partition;
import com.redhat.et.libguestfs.StatVFS;
import com.redhat.et.libguestfs.VG;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What one observer, written on the libguestfs API, sees on resize inputs and
 * outputs: per disk the partition table (type, disk GUID, each partition's
 * sectors, MBR id or GPT type, GUID, name and attributes, bootable flag), per
 * partition and LV the content (filesystem type, label, UUID, device size,
 * and for mountable filesystems the size the filesystem itself reports), per
 * LVM PV, VG and LV its UUID and sizes, the checksum of every file, and the
 * inspection of the MBR guest. The same observer looks at virt-resize's
 * outputs when {@code make oracles} keeps them as golden files and at ours in
 * the test, so the two are compared fact by fact.
 *
 * <p>UUIDs and GUIDs are compared by origin, not value: one the input had is
 * written {@code =input:<fact>}, any other {@code new}. LVM keeps its own
 * random UUIDs and vfat its random serial, so the fixture cannot fix them.
 */
final class ResizeObservation {
    /** Filesystems mounted (read-only) for their own size and their files' checksums. */
    private static final Set<String> MOUNTABLE = Set.of("ext2", "ext3", "ext4", "xfs", "vfat", "btrfs", "ntfs");

    /** Everything seen on one disk. */
    record Disk(Map<String, String> facts, List<String> table, Map<String, String> checksums) {
    }

    /** The disks in the order given, and the inspection of the MBR guest's input and output. */
    record Seen(List<Disk> inputs, List<Disk> outputs, String mbrInputInspection, String mbrOutputInspection) {
    }

    private ResizeObservation() {
    }

    /**
     * Looks at {@code inputs} and {@code outputs} (the same scenarios in the
     * same order; the first of each the MBR guest) in one launch, read-only.
     */
    static Seen observe(List<Path> inputs, List<Path> outputs) {
        List<Path> all = new ArrayList<>(inputs);
        all.addAll(outputs);
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
             HandlePool.Lease lease = pool.lease("resize-observe")) {
            List<Drive> drives = all.stream().map(p -> new Drive(p.toUri(), "qcow2", true, null)).toList();
            ApplianceHandle h = lease.launch(drives, GuestEventListener.NONE);
            GuestFS g = h.gfs();
            List<Disk> disks = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) {
                disks.add(disk(g, "/dev/sd" + (char) ('a' + i)));
            }
            // inspection of the MBR guest, before and after. Its fstab names /dev/sda1, so every copy maps the
            // same; roots are told apart by device. No VG is visible to LVM here: an inspection pass with a copy
            // of the LVM guest's VG shown did not finish within 10 minutes on this machine.
            g.lvm_set_filter(new String[]{"/dev/sda"});
            Map<String, String> roots = inspectAll(g);
            String in = roots.get("/dev/sda2");
            String out = roots.get("/dev/sd" + (char) ('a' + inputs.size()) + "2");
            return new Seen(disks.subList(0, inputs.size()), disks.subList(inputs.size(), all.size()), in, out);
        } catch (LibGuestFSException e) {
            throw new IllegalStateException("cannot observe the resize images: " + e.getMessage(), e);
        }
    }

    static Disk disk(GuestFS g, String disk) throws LibGuestFSException {
        // this disk's VG only: outputs are copies of inputs, with the same VG names and UUIDs
        g.lvm_set_filter(new String[]{disk});
        g.vg_activate_all(true);
        Map<String, String> facts = new TreeMap<>();
        Map<String, String> sums = new LinkedHashMap<>();
        List<String> table = new ArrayList<>();
        String type = g.part_get_parttype(disk);
        facts.put("disk.table", type);
        facts.put("disk.size", Long.toString(g.blockdev_getsize64(disk)));
        if (type.equals("gpt")) {
            facts.put("disk.guid", g.part_get_disk_guid(disk));
        }
        for (Partition p : g.part_list(disk)) {
            String part = "part" + p.part_num;
            String dev = disk + p.part_num;
            table.add(p.part_num + ":" + p.part_start + "-" + p.part_end);
            facts.put(part + ".sectors", p.part_start / 512 + "-" + p.part_end / 512);
            if (type.equals("gpt")) {
                facts.put(part + ".gpt-type", g.part_get_gpt_type(disk, p.part_num));
                facts.put(part + ".gpt-guid", g.part_get_gpt_guid(disk, p.part_num));
                facts.put(part + ".gpt-name", g.part_get_name(disk, p.part_num));
                facts.put(part + ".gpt-attributes", Long.toString(g.part_get_gpt_attributes(disk, p.part_num)));
            } else {
                facts.put(part + ".mbr-id", Integer.toHexString(g.part_get_mbr_id(disk, p.part_num)));
                facts.put(part + ".bootable", Boolean.toString(g.part_get_bootable(disk, p.part_num)));
            }
            String vfs = content(g, dev, part, facts, sums);
            if (vfs.equals("LVM2_member")) {
                String pvUuid = g.pvuuid(dev);
                facts.put(part + ".pv-uuid", pvUuid);
                sums.put(part + "-pv", pvUuid); // the same PV on the same partition
                for (PV pv : g.pvs_full()) {
                    if (pv.pv_uuid.equals(pvUuid)) { // by UUID: pv_name carries the kernel's device name
                        facts.put(part + ".pv-size", Long.toString(pv.pv_size));
                        facts.put(part + ".pv-extents", pv.pv_pe_count + " (" + pv.pv_pe_alloc_count + " used)");
                    }
                }
            }
        }
        for (VG vg : g.vgs_full()) {
            String key = "vg:" + vg.vg_name;
            facts.put(key + ".uuid", vg.vg_uuid);
            facts.put(key + ".size", Long.toString(vg.vg_size));
            facts.put(key + ".free", Long.toString(vg.vg_free));
        }
        for (String lv : g.lvs()) {
            String key = "lv:" + lv.substring("/dev/".length());
            facts.put(key + ".lv-uuid", g.lvuuid(lv));
            content(g, lv, key, facts, sums);
        }
        return new Disk(facts, table, sums);
    }

    /** Facts about what a partition or LV holds; checksums of its files when it is a mountable filesystem. */
    private static String content(GuestFS g, String dev, String key, Map<String, String> facts, Map<String, String> sums)
            throws LibGuestFSException {
        String vfs = g.vfs_type(dev);
        facts.put(key + ".size", Long.toString(g.blockdev_getsize64(dev)));
        facts.put(key + ".vfs", vfs);
        if (vfs.isEmpty() || vfs.equals("LVM2_member")) {
            return vfs;
        }
        facts.put(key + ".label", g.vfs_label(dev));
        facts.put(key + ".uuid", g.vfs_uuid(dev));
        if (MOUNTABLE.contains(vfs)) {
            g.mount_ro(dev, "/");
            try {
                StatVFS st = g.statvfs("/");
                facts.put(key + ".fs-size", Long.toString(st.blocks * st.frsize));
                sums.put(key + "-" + vfs, checksums(g));
            } finally {
                g.umount("/");
            }
        }
        return vfs;
    }

    /** "sha256 path" lines of every file under the mounted root, sorted. */
    static String checksums(GuestFS g) throws LibGuestFSException {
        try {
            Path f = Files.createTempFile("resize-sums", ".txt");
            try {
                g.checksums_out("sha256", "/", f.toString());
                List<String> lines = new ArrayList<>(Files.readAllLines(f));
                lines.sort(null);
                return String.join("\n", lines);
            } finally {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What inspection says about each root (sizes excluded: they are what a resize changes). */
    private static Map<String, String> inspectAll(GuestFS g) throws LibGuestFSException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String root : g.inspect_os()) {
            Map<String, String> mps = new TreeMap<>(g.inspect_get_mountpoints(root));
            out.put(root, "type=" + g.inspect_get_type(root) + " distro=" + g.inspect_get_distro(root)
                    + " version=" + g.inspect_get_major_version(root) + "." + g.inspect_get_minor_version(root)
                    + " product=" + g.inspect_get_product_name(root) + " arch=" + g.inspect_get_arch(root)
                    + " hostname=" + g.inspect_get_hostname(root) + " mountpoints=" + mps);
        }
        return out;
    }

    /**
     * {@code facts} with every UUID or GUID replaced by its origin:
     * {@code =input:<fact>} when {@code input} has the same value under that
     * fact, {@code new} otherwise.
     */
    static Map<String, String> byOrigin(Map<String, String> facts, Map<String, String> input) {
        Map<String, String> origin = new TreeMap<>();
        input.forEach((k, v) -> {
            if (isIdentity(k)) {
                origin.putIfAbsent(v.toLowerCase(), "=input:" + k);
            }
        });
        Map<String, String> out = new TreeMap<>();
        facts.forEach((k, v) -> out.put(k, isIdentity(k) ? origin.getOrDefault(v.toLowerCase(), "new") : v));
        return out;
    }

    private static boolean isIdentity(String fact) {
        return fact.endsWith("uuid") || fact.endsWith("guid");
    }

    /** The first MiB of an image, read on the host with qemu-img. */
    static byte[] head(Path image) {
        try {
            Path raw = Files.createTempFile("resize-head", ".raw");
            Files.delete(raw);
            try {
                VirtTool.run(Duration.ofMinutes(1), "qemu-img", "dd", "-f", "qcow2", "-O", "raw", "bs=512", "count=2048",
                        "if=" + image, "of=" + raw).orFail("qemu-img dd");
                return Files.readAllBytes(raw);
            } finally {
                Files.deleteIfExists(raw);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
