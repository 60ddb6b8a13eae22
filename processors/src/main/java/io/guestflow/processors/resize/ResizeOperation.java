package io.guestflow.processors.resize;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import com.redhat.et.libguestfs.PV;
import com.redhat.et.libguestfs.Partition;
import com.redhat.et.libguestfs.StatVFS;
import io.guestflow.processors.resize.DiskLayout.Content;
import io.guestflow.processors.resize.DiskLayout.Part;
import io.guestflow.processors.resize.ResizePlan.ExpandMethod;
import io.guestflow.processors.resize.ResizePlan.Operation;
import io.guestflow.processors.resize.ResizePlan.Target;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * virt-resize's algorithm on one launched appliance that has the new (blank,
 * final-size) output writable as {@code /dev/sda} and the source read-only
 * as {@code /dev/sdb} (a dry run has only the source, as {@code /dev/sda}):
 * read the source
 * layout, plan, and only then write — partition table with the source's
 * types, GUIDs, names, attributes and bootable flags, the boot loader area,
 * every partition's bytes (sparse), then grow the content of resized
 * partitions and expanded LVs.
 *
 * <p>virt-resize relaunches the appliance before growing content so that the
 * source's and the copy's identical LVM PVs are never seen together; here an
 * LVM device filter does that inside the one appliance: it shows LVM only the
 * source while reading and only the output while growing. The output is the
 * first disk because LVM writes the device name into its metadata
 * ({@code device = "/dev/sda2"}) when pvresize/lvresize change it: the name
 * must be the one the guest sees when it boots from the output alone, as in
 * virt-resize's second launch.
 *
 * <p>Partitions are named as the user names the input's ({@link #INPUT},
 * e.g. {@code --expand /dev/sda2}) in the plan and the report, whichever
 * device the source is attached as.
 */
public final class ResizeOperation {
    private static final Logger LOG = LoggerFactory.getLogger(ResizeOperation.class);
    /** How options and reports name the input disk, as virt-resize's users name it. */
    static final String INPUT = "/dev/sda";
    static final String OUTPUT = "/dev/sda";
    /** Bytes of the MBR before its partition table: boot code and disk signature. */
    private static final int MBR_BOOT_CODE = 446;
    /** Where the boot loader area after the partition table starts: after the MBR, or after GPT's 34 sectors (512-byte sectors). */
    private static final long MBR_LOADER_START = 512;
    private static final long GPT_LOADER_START = 17408;

    private final ResizeOptions options;
    /** The device the source is attached as. */
    private final String source;

    public ResizeOperation(ResizeOptions options) {
        this.options = options;
        this.source = options.dryRun() ? "/dev/sda" : "/dev/sdb";
    }

    /**
     * Plans and, unless a dry run, writes the output.
     *
     * @param plannedOutputSize the output size for a dry run (no output disk is attached then)
     */
    public ResizeReport run(GuestFS g, long plannedOutputSize, String outputName, String outputFormat)
            throws LibGuestFSException {
        long t0 = System.nanoTime();
        g.lvm_set_filter(new String[]{source}); // only the source's PVs exist for LVM while we read
        long outputSize = options.dryRun() ? plannedOutputSize : g.blockdev_getsize64(OUTPUT);
        DiskLayout layout = readLayout(g, source, options.dryRun() ? source : OUTPUT);
        ResizePlan plan = new ResizePlanner(layout, options, outputSize, growableFs(g)).plan();
        long examined = System.nanoTime();
        if (options.dryRun()) {
            return new ResizeReport(true, null, null, plan, List.of(), null,
                    new ResizeReport.Timings(millis(t0, examined), 0, 0));
        }
        writeTable(g, plan, layout);
        copyBootLoader(g, source, layout);
        for (Target t : plan.target()) {
            copyContent(g, source, t, layout);
        }
        if (plan.alignedFirst()) {
            fixNtfsHiddenSectors(g, plan.target().get(0));
        }
        long copied = System.nanoTime();
        List<String> grown = growContent(g, plan);
        long expanded = System.nanoTime();
        List<ResizeReport.WrittenPartition> written = new ArrayList<>();
        for (Partition p : g.part_list(OUTPUT)) {
            written.add(new ResizeReport.WrittenPartition(p.part_num, p.part_start, p.part_end, p.part_size));
        }
        return new ResizeReport(false, outputName, outputFormat, plan, grown, written,
                new ResizeReport.Timings(millis(t0, examined), millis(examined, copied), millis(copied, expanded)));
    }

    private static long millis(long from, long to) {
        return (to - from) / 1_000_000;
    }

    /** Filesystems beyond ext2/3/4 whose grow tools this appliance has. */
    private static Set<String> growableFs(GuestFS g) throws LibGuestFSException {
        Set<String> fs = new HashSet<>();
        if (g.feature_available(new String[]{"xfs"})) {
            fs.add("xfs");
        }
        if (g.feature_available(new String[]{"btrfs"})) {
            fs.add("btrfs");
        }
        if (g.feature_available(new String[]{"ntfsprogs", "ntfs3g"})) {
            fs.add("ntfs");
        }
        return fs;
    }

    /**
     * The source's partitions (named as {@link #INPUT}'s), their content and LVs; {@code sectorDisk} gives the
     * sector size (the output's when there is one).
     */
    static DiskLayout readLayout(GuestFS g, String source, String sectorDisk) throws LibGuestFSException {
        int sectorSize = g.blockdev_getss(sectorDisk);
        long size = g.blockdev_getsize64(source);
        if (size < ResizePlanner.MAX_BOOTLOADER) {
            throw new ResizePlanner.ImpossiblePlanException("the source disk is too small to be a disk image (" + size + " bytes)");
        }
        String table;
        try {
            table = g.part_get_parttype(source);
        } catch (LibGuestFSException e) {
            throw new ResizePlanner.ImpossiblePlanException("the source disk has no partition table that can be read: " + e.getMessage());
        }
        if (!table.equals("msdos") && !table.equals("gpt")) {
            throw new ResizePlanner.ImpossiblePlanException("the source disk has a '" + table
                    + "' partition table; only MBR (msdos) and GPT can be resized");
        }
        boolean gpt = table.equals("gpt");
        String diskGuid = null;
        if (gpt) {
            try {
                diskGuid = g.part_get_disk_guid(source);
            } catch (LibGuestFSException e) {
                LOG.debug("no GPT disk GUID: {}", e.getMessage());
            }
        }
        List<PV> pvs = List.of(g.pvs_full());
        List<Part> parts = new ArrayList<>();
        for (Partition p : g.part_list(source)) {
            if (!gpt && p.part_num > 4) {
                continue; // logical partitions travel inside their extended partition
            }
            String dev = source + p.part_num;
            boolean bootable = g.part_get_bootable(source, p.part_num);
            Integer mbrId = null;
            String gptType = null;
            String gptGuid = null;
            Long gptAttributes = null;
            String name = null;
            if (gpt) {
                gptType = optional(() -> g.part_get_gpt_type(source, p.part_num));
                gptGuid = optional(() -> g.part_get_gpt_guid(source, p.part_num));
                gptAttributes = optional(() -> g.part_get_gpt_attributes(source, p.part_num));
                name = optional(() -> g.part_get_name(source, p.part_num));
            } else {
                mbrId = optional(() -> g.part_get_mbr_id(source, p.part_num));
            }
            boolean extended = mbrId != null && (mbrId == 0x05 || mbrId == 0x0f);
            Content content = extended ? Content.EXTENDED : content(g, dev, pvs);
            parts.add(new Part(INPUT + p.part_num, p.part_num, p.part_start, p.part_end, p.part_size, bootable, mbrId, gptType,
                    gptGuid, gptAttributes, name, content));
        }
        List<DiskLayout.LogicalVolume> lvs = new ArrayList<>();
        for (String lv : g.lvs()) {
            lvs.add(new DiskLayout.LogicalVolume(lv, content(g, lv, pvs)));
        }
        return new DiskLayout(table, sectorSize, size, diskGuid, parts, lvs);
    }

    private interface Call<T> {
        T get() throws LibGuestFSException;
    }

    private static <T> T optional(Call<T> call) {
        try {
            return call.get();
        } catch (LibGuestFSException e) {
            return null;
        }
    }

    /** What a device holds; a filesystem's size is what statvfs reports, as virt-resize measures it. */
    private static Content content(GuestFS g, String dev, List<PV> pvs) {
        try {
            String type = g.vfs_type(dev);
            switch (type) {
                case "", "unknown":
                    return Content.UNKNOWN;
                case "swap":
                    return Content.SWAP;
                case "LVM2_member":
                    return Content.physicalVolume(physicalVolume(g, dev, pvs).pv_size);
                default:
                    g.mount_ro(dev, "/");
                    try {
                        StatVFS st = g.statvfs("/");
                        return Content.filesystem(type, st.bsize * st.blocks);
                    } finally {
                        g.umount("/");
                    }
            }
        } catch (LibGuestFSException e) {
            LOG.debug("{}: content unknown: {}", dev, e.getMessage());
            return Content.UNKNOWN;
        }
    }

    /**
     * The PV on {@code dev}, matched by UUID: pvs_full names PVs as the appliance's kernel does, and the kernel
     * may have enumerated the disks in another order than libguestfs's names (/dev/sdb can be the kernel's sda).
     */
    private static PV physicalVolume(GuestFS g, String dev, List<PV> pvs) {
        String uuid;
        try {
            uuid = g.pvuuid(dev).replace("-", "");
        } catch (LibGuestFSException e) {
            throw new ResizePlanner.ImpossiblePlanException(dev + ": has an LVM physical volume signature, but LVM cannot"
                    + " read it: " + e.getMessage());
        }
        for (PV pv : pvs) {
            if (pv.pv_uuid.replace("-", "").equals(uuid)) {
                return pv;
            }
        }
        throw new ResizePlanner.ImpossiblePlanException(dev + ": LVM physical volume " + uuid + " is not among the PVs LVM lists ("
                + pvs.stream().map(pv -> pv.pv_name + " " + pv.pv_uuid).toList() + ")");
    }

    private void writeTable(GuestFS g, ResizePlan plan, DiskLayout layout) throws LibGuestFSException {
        g.part_init(OUTPUT, layout.partitionTable());
        if (layout.diskGuid() != null) {
            g.part_set_disk_guid(OUTPUT, layout.diskGuid());
        }
        for (Target t : plan.target()) {
            // the extra partition is given parted's relative end, as virt-resize does
            g.part_add(OUTPUT, "primary", t.startSector(), t.operation() == Operation.EXTRA ? -64 : t.endSector());
        }
        // types and flags before the data: sfdisk rewrites an extended partition's first sector when its type changes
        for (Target t : plan.target()) {
            if (t.bootable()) {
                g.part_set_bootable(OUTPUT, t.number(), true);
            }
            if (t.name() != null && !t.name().isEmpty()) {
                g.part_set_name(OUTPUT, t.number(), t.name());
            }
            if (t.gptGuid() != null) {
                g.part_set_gpt_guid(OUTPUT, t.number(), t.gptGuid());
            }
            if (t.gptAttributes() != null) {
                g.part_set_gpt_attributes(OUTPUT, t.number(), t.gptAttributes());
            }
            if (layout.isGpt() && t.gptType() != null) {
                g.part_set_gpt_type(OUTPUT, t.number(), t.gptType());
            } else if (!layout.isGpt() && t.mbrId() != null) {
                g.part_set_mbr_id(OUTPUT, t.number(), t.mbrId());
            }
        }
    }

    /**
     * The boot code before the MBR partition table, and the boot loader area
     * after the partition table (GPT: after its 34 sectors); the new table is
     * left as written. Device-to-device copies keep the bytes binary-exact.
     */
    private static void copyBootLoader(GuestFS g, String source, DiskLayout layout) throws LibGuestFSException {
        g.copy_device_to_device(source, OUTPUT, Map.of("srcoffset", 0L, "destoffset", 0L, "size", (long) MBR_BOOT_CODE));
        long start = layout.isGpt() ? GPT_LOADER_START : MBR_LOADER_START;
        g.copy_device_to_device(source, OUTPUT, Map.of("srcoffset", start, "destoffset", start,
                "size", (long) ResizePlanner.MAX_BOOTLOADER));
    }

    private static void copyContent(GuestFS g, String source, Target t, DiskLayout layout) throws LibGuestFSException {
        if (t.operation() == Operation.IGNORE || t.operation() == Operation.EXTRA || t.copyBytes() == 0) {
            return;
        }
        Map<String, Object> opts = new HashMap<>();
        opts.put("size", t.copyBytes());
        opts.put("sparse", true);
        if (t.content().kind() == DiskLayout.Kind.EXTENDED) {
            // an extended partition's device covers only its first KiB: copy disk to disk at its offsets
            Part src = layout.partitions().stream().filter(p -> p.device().equals(t.source())).findFirst().orElseThrow();
            opts.put("srcoffset", src.start());
            opts.put("destoffset", t.startSector() * layout.sectorSize());
            g.copy_device_to_device(source, OUTPUT, opts);
        } else {
            g.copy_device_to_device(source + t.source().substring(INPUT.length()), t.on(OUTPUT), opts);
        }
    }

    /** A moved bootable NTFS partition boots only if its boot record says where it now starts. */
    private static void fixNtfsHiddenSectors(GuestFS g, Target first) throws LibGuestFSException {
        if (first.content().kind() != DiskLayout.Kind.FILESYSTEM || !"ntfs".equals(first.content().fsType())) {
            return;
        }
        String dev = first.on(OUTPUT);
        String magic = g.pread_device(dev, 8, 3);
        if (!"NTFS    ".equals(magic)) {
            LOG.warn("{}: first partition is NTFS but has no NTFS boot record magic; hidden sectors not updated", dev);
            return;
        }
        byte[] le = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) first.startSector()).array();
        g.pwrite_device(dev, le, 0x1c);
    }

    private List<String> growContent(GuestFS g, ResizePlan plan) throws LibGuestFSException {
        List<String> grown = new ArrayList<>();
        // as virt-resize: an LV is grown only together with content it can grow; one whose content it cannot grow
        // (a LUKS container without its key, unknown content) keeps its size although the plan lists it
        boolean any = plan.target().stream().anyMatch(t -> t.expandMethod() != null)
                || plan.lvExpansions().stream().anyMatch(lv -> lv.expandMethod() != null);
        for (ResizePlan.LvExpansion lv : plan.lvExpansions()) {
            if (options.expandContent() && lv.expandMethod() == null) {
                // "LV <device> left ...", not "<device>: ...": results are redacted, and "…/secret: X" would lose X
                grown.add("LV " + lv.device() + " left at its size: its " + lv.content().describe()
                        + " cannot be grown (virt-resize leaves such an LV as it is)");
            }
        }
        if (!any) {
            return grown;
        }
        g.lvm_set_filter(new String[]{OUTPUT}); // from now on LVM sees the copy only
        for (Target t : plan.target()) {
            if (t.expandMethod() != null) {
                grow(g, t.on(OUTPUT), t.expandMethod());
                grown.add("partition " + t.number() + " (" + t.source() + " of the input): " + t.content().describe() + " grown with " + t.expandMethod().label());
            }
        }
        if (plan.lvExpansions().stream().anyMatch(lv -> lv.expandMethod() != null)) {
            g.vg_activate_all(true); // the filter change leaves the copy's LVs without device nodes
            for (ResizePlan.LvExpansion lv : plan.lvExpansions()) {
                if (lv.expandMethod() != null) {
                    g.lvresize_free(lv.device(), 100);
                    grow(g, lv.device(), lv.expandMethod());
                    grown.add(lv.device() + ": LV grown to fill its VG, " + lv.content().describe() + " grown with " + lv.expandMethod().label());
                }
            }
        }
        return grown;
    }

    private static void grow(GuestFS g, String dev, ExpandMethod method) throws LibGuestFSException {
        Action grow = switch (method) {
            case PVRESIZE -> () -> g.pvresize(dev);
            case RESIZE2FS -> () -> resize2fs(g, dev);
            case NTFSRESIZE -> () -> g.ntfsresize(dev);
            case XFS_GROWFS -> () -> mounted(g, dev, () -> g.xfs_growfs("/"));
            case BTRFS_FILESYSTEM_RESIZE -> () -> mounted(g, dev, () -> g.btrfs_filesystem_resize("/"));
            case MKSWAP -> () -> mkswap(g, dev);
        };
        grow.run();
    }

    private static void resize2fs(GuestFS g, String dev) throws LibGuestFSException {
        try {
            g.resize2fs(dev);
        } catch (LibGuestFSException e) {
            // resize2fs insists on a recent check when the filesystem was mounted since the last one
            LOG.debug("{}: resize2fs refused ({}); checking first", dev, e.getMessage());
            g.e2fsck_f(dev);
            g.resize2fs(dev);
        }
    }

    /** A new swap signature with the same UUID and label, so fstab entries keep working. */
    private static void mkswap(GuestFS g, String dev) throws LibGuestFSException {
        String uuid = g.vfs_uuid(dev);
        String label = g.vfs_label(dev);
        Map<String, Object> opts = new HashMap<>();
        if (!uuid.isEmpty()) {
            opts.put("uuid", uuid);
        }
        if (!label.isEmpty()) {
            opts.put("label", label);
        }
        g.mkswap(dev, opts);
        String now = g.vfs_uuid(dev);
        if (!now.equals(uuid)) {
            LOG.warn("{}: swap UUID changed from '{}' to '{}'", dev, uuid, now);
        }
    }

    private interface Action {
        void run() throws LibGuestFSException;
    }

    private static void mounted(GuestFS g, String dev, Action action) throws LibGuestFSException {
        g.mount(dev, "/");
        try {
            action.run();
        } finally {
            g.umount("/");
        }
    }
}
