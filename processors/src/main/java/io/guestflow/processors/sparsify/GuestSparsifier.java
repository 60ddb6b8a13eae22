package io.guestflow.processors.sparsify;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LV;
import com.redhat.et.libguestfs.LibGuestFSException;
import com.redhat.et.libguestfs.StatVFS;
import com.redhat.et.libguestfs.XFSInfo;
import io.guestflow.pool.Decryption;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import io.guestflow.processors.job.ByteRanges;
import io.guestflow.processors.sparsify.SparsifyReport.Action;
import io.guestflow.processors.sparsify.SparsifyReport.Filesystem;
import io.guestflow.processors.sparsify.SparsifyReport.VolumeGroup;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The part of sparsify that runs on the launched appliance: turns the free
 * space of every filesystem, swap area and volume group of the attached disk
 * into discarded (or zeroed) blocks, without touching a byte of data.
 *
 * <p>Copy mode works on a job-owned overlay: a discard there makes the
 * overlay's clusters read as zeroes, which the conversion then leaves out;
 * where a filesystem cannot trim, its free space is filled with zeroes
 * instead. In place, discards reach the image file as holes; a filesystem
 * that cannot trim is reported and left alone (zeroes would not shrink it).
 *
 * <p>In place, nothing may make the image grow, so nothing is written where
 * it would take host space the image did not hold: ext filesystems are
 * mounted with {@code noinit_itable} (a read-write mount of an ext4 whose
 * inode tables were never written otherwise starts the kernel's
 * {@code ext4lazyinit}, which writes zeroes over them, allocating them in
 * the image); a swap area keeps its header page as it was; and given the
 * image's {@link Allocation} from before the launch, trims stay in the
 * regions of a qcow2 image that hold clusters (qemu allocates an L2 table to
 * record a discard elsewhere), and a swap area or a volume group's free space
 * that holds nothing to give back is not touched at all (the temporary LV
 * would make LVM write its metadata twice).
 *
 * <p>Everything that could refuse the job (encrypted filesystems, names in
 * {@code ignore}/{@code zero} that the guest does not have) is checked
 * before the first write.
 */
final class GuestSparsifier {
    private static final Logger LOG = LoggerFactory.getLogger(GuestSparsifier.class);
    /** vfs types of encrypted containers: their free space is invisible without a key. */
    private static final Set<String> ENCRYPTED = Set.of("crypto_LUKS", "BitLocker");
    /** The x86 (4 KiB page) swap signature sits in the last 10 bytes of the first page. */
    private static final long SWAP_SIGNATURE_OFFSET = 4086;
    private static final long ST_RDONLY = 0x1;

    /** ext2/3/4 mounted read-write without starting ext4lazyinit (see the class comment). */
    private static final Set<String> EXT = Set.of("ext2", "ext3", "ext4");
    /**
     * LVM (2.03) reads and writes its metadata area in blocks of 128 KiB: a metadata update rewrites the
     * block(s) holding the new text whole, zeroes included (measured: 116 KiB newly allocated in an
     * already-sparse raw image by a temporary LV).
     */
    private static final long LVM_IO_BLOCK = 128 << 10;
    /** The page of a swap area that holds its signature, version, label and UUID. */
    private static final int SWAP_HEADER = 4096;

    private final GuestFS g;
    private final SparsifyOptions options;
    /** In place: the host's allocation of the image now; null in copy mode. */
    private final LongSupplier allocation;
    /** In place: where the image held host space before the launch; null in copy mode or for other formats. */
    private final Allocation before;
    private DiskGeometry geometry;

    GuestSparsifier(GuestFS g, SparsifyOptions options, LongSupplier allocation, Allocation before) {
        this.g = g;
        this.options = options;
        this.allocation = allocation;
        this.before = options.inPlace() ? before : null;
    }

    SparsifyReport run() throws LibGuestFSException {
        if (options.inPlace() && !g.feature_available(new String[] {"fstrim"})) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED,
                    "this libguestfs appliance cannot discard (no fstrim): in-place sparsify is impossible, use copy mode");
        }
        // sorted like the virt tool, so results list devices in a stable order
        Map<String, String> filesystems = new TreeMap<>(g.list_filesystems());
        Set<String> vgs = new java.util.TreeSet<>(List.of(g.vgs()));
        Set<String> ignoredDevices = new HashSet<>();
        Set<String> ignoredVgs = new HashSet<>();
        // list_filesystems leaves encrypted containers out: find them among the other block devices
        Map<String, String> encrypted = encryptedContainers(filesystems.keySet());
        Map<String, String> canonical = new HashMap<>();
        for (String fs : filesystems.keySet()) {
            canonical.put(g.canonical_device_name(fs), fs);
        }
        for (String dev : encrypted.keySet()) {
            canonical.put(g.canonical_device_name(dev), dev);
        }
        for (String name : options.ignore()) {
            if (name.startsWith("/dev/")) {
                String fs = canonical.get(g.canonical_device_name(name));
                if (fs == null) {
                    throw refuse("ignore names " + name + ", which is not a filesystem of this guest (it has: "
                            + String.join(", ", filesystems.keySet()) + ")");
                }
                ignoredDevices.add(fs);
            } else if (vgs.contains(name)) {
                ignoredVgs.add(name);
            } else {
                throw refuse("ignore names " + name + ", which is neither a device path nor a volume group of this guest"
                        + " (volume groups: " + String.join(", ", vgs) + ")");
            }
        }
        Set<String> zeroDevices = new HashSet<>();
        for (String name : options.zero()) {
            String fs = canonical.get(g.canonical_device_name(name));
            if (fs == null || encrypted.containsKey(fs)) {
                throw refuse("zero names " + name + ", which is not a filesystem or swap area of this guest (it has: "
                        + String.join(", ", filesystems.keySet()) + ")");
            }
            zeroDevices.add(fs);
        }
        Set<String> opened = new HashSet<>();
        for (Map.Entry<String, String> e : encrypted.entrySet()) {
            if (ignoredDevices.contains(e.getKey())) {
                continue;
            }
            if (!"crypto_LUKS".equals(e.getValue()) || !Decryption.isOpen(g, e.getKey(), g.luks_uuid(e.getKey()))) {
                throw refuse(e.getKey() + " is encrypted (" + e.getValue() + ") and no key of the job opens it, so its"
                        + " free space is invisible. Give its key (job 'keys') or add it to 'ignore' to sparsify the"
                        + " rest of the disk");
            }
            opened.add(e.getKey());
        }
        Set<String> readOnlyLvs = readOnlyLvs();
        // what opened containers hold: filesystems on their mappings, volume groups whose PVs are all mappings
        Set<String> plainDevices = opened.isEmpty() ? Set.of() : plainBlockDevices();
        Set<String> encryptedVgs = opened.isEmpty() ? Set.of() : encryptedVolumeGroups(vgs, plainDevices);

        List<Filesystem> fsReport = new ArrayList<>();
        encrypted.forEach((dev, type) -> fsReport.add(opened.contains(dev)
                ? new Filesystem(dev, type, Action.ENCRYPTED, null, null, "LUKS container opened with a key: what it"
                        + " holds is encrypted on the disk, so its free space cannot be given back")
                : new Filesystem(dev, type, Action.IGNORED, null, null, "encrypted")));
        for (Map.Entry<String, String> e : filesystems.entrySet()) {
            String fs = e.getKey();
            String type = e.getValue();
            String container = opened.isEmpty() ? null : insideContainer(fs, plainDevices, encryptedVgs);
            if (ignoredDevices.contains(fs)) {
                fsReport.add(new Filesystem(fs, type, Action.IGNORED, null, null, null));
            } else if (container != null) {
                fsReport.add(new Filesystem(fs, type, Action.ENCRYPTED, null, null, "inside " + container
                        + ": written back encrypted, so freeing its blocks gives nothing back"));
            } else if (readOnlyLvs.contains(fs)) {
                fsReport.add(new Filesystem(fs, type, Action.SKIPPED_READ_ONLY, null, null, "read-only logical volume"));
            } else {
                long before = allocated();
                Filesystem done = zeroDevices.contains(fs) ? zeroDevice(fs, type) : sparsifyFilesystem(fs, type);
                fsReport.add(withReclaimed(done, before));
            }
            g.umount_all();
        }
        List<VolumeGroup> vgReport = new ArrayList<>();
        for (String vg : vgs) {
            vgReport.add(ignoredVgs.contains(vg) ? new VolumeGroup(vg, "ignored", null, null)
                    : encryptedVgs.contains(vg) ? new VolumeGroup(vg, "encrypted", null, null) : volumeGroup(vg));
        }
        return new SparsifyReport(options.inPlace() ? "in-place" : "copy", null, null, null, fsReport, vgReport);
    }

    /** Whole disks, partitions, md devices and LVs: every block device that is not a decrypted mapping. */
    private Set<String> plainBlockDevices() throws LibGuestFSException {
        Set<String> out = new HashSet<>();
        for (String[] list : new String[][] {g.list_devices(), g.list_partitions(), g.list_md_devices(), g.lvs()}) {
            for (String dev : list) {
                out.add(g.canonical_device_name(dev));
            }
        }
        return out;
    }

    /**
     * Volume groups whose every PV is a decrypted mapping (LVM on LUKS): their free extents and LVs are encrypted
     * on the disk. In place a discard does not even pass dm-crypt (libguestfs opens containers without
     * {@code allow_discards}); in copy mode zeroes written through it are ciphertext, which makes nothing smaller.
     */
    private Set<String> encryptedVolumeGroups(Set<String> vgs, Set<String> plainDevices) throws LibGuestFSException {
        Map<String, String> pvByUuid = new HashMap<>();
        for (String pv : g.pvs()) {
            pvByUuid.put(g.pvuuid(pv).replace("-", ""), g.canonical_device_name(pv));
        }
        Set<String> out = new HashSet<>();
        for (String vg : vgs) {
            String[] pvs = g.vgpvuuids(vg);
            boolean allMapped = pvs.length > 0;
            for (String uuid : pvs) {
                String pv = pvByUuid.get(uuid.replace("-", ""));
                allMapped &= pv != null && !plainDevices.contains(pv);
            }
            if (allMapped) {
                out.add(vg);
            }
        }
        return out;
    }

    /** The opened container (mapping or encrypted VG) filesystem {@code fs} lives in, or null. */
    private String insideContainer(String fs, Set<String> plainDevices, Set<String> encryptedVgs) throws LibGuestFSException {
        if (!fs.startsWith("/dev/")) {
            return null; // btrfsvol:... subvolumes: their device is listed on its own
        }
        String canonical = g.canonical_device_name(fs);
        if (!plainDevices.contains(canonical)) {
            return "decrypted mapping " + fs;
        }
        if (fs.startsWith("/dev/") && fs.indexOf('/', 5) > 0) {
            String vg = fs.substring(5, fs.indexOf('/', 5));
            if (encryptedVgs.contains(vg)) {
                return "volume group " + vg + ", whose physical volumes are decrypted LUKS mappings";
            }
        }
        return null;
    }

    /** Partitions, whole disks and LVs that are LUKS or BitLocker containers. */
    private Map<String, String> encryptedContainers(Set<String> filesystems) throws LibGuestFSException {
        Map<String, String> out = new TreeMap<>();
        List<String> candidates = new ArrayList<>(List.of(g.list_devices()));
        candidates.addAll(List.of(g.list_partitions()));
        candidates.addAll(List.of(g.lvs()));
        for (String dev : candidates) {
            if (filesystems.contains(dev)) {
                continue;
            }
            String type;
            try {
                type = g.vfs_type(dev);
            } catch (LibGuestFSException noSignature) {
                continue;
            }
            if (ENCRYPTED.contains(type)) {
                out.put(dev, type);
            }
        }
        return out;
    }

    private Filesystem sparsifyFilesystem(String fs, String type) throws LibGuestFSException {
        try {
            mount(fs, type);
        } catch (LibGuestFSException notMountable) {
            if ("swap".equals(type) && isLinuxSwap(fs)) {
                return recreateSwap(fs, type);
            }
            return new Filesystem(fs, type, Action.SKIPPED_NOT_MOUNTABLE, null, null,
                    "swap".equals(type) ? "swap area without a 4 KiB-page signature (hibernated?)" : firstLine(notMountable));
        }
        StatVFS st = g.statvfs("/");
        if (st.flag != -1 && (st.flag & ST_RDONLY) != 0) {
            return new Filesystem(fs, type, Action.SKIPPED_READ_ONLY, null, null, "mounted read-only");
        }
        if ("btrfs".equals(type) && isReadOnlyBtrfsSnapshot()) {
            return new Filesystem(fs, type, Action.SKIPPED_READ_ONLY, null, null, "read-only btrfs snapshot");
        }
        long free = st.bfree * st.frsize;
        try {
            List<ByteRanges.Range> ranges = trimRanges(fs, type);
            String detail = null;
            if (ranges == null) {
                g.fstrim("/");
            } else {
                for (ByteRanges.Range r : ranges) {
                    g.fstrim("/", Map.of("offset", r.start(), "length", r.length()));
                }
                detail = "trimmed only where the qcow2 image holds clusters (" + ByteRanges.of(ranges).total()
                        + " B of the filesystem): the rest holds nothing to give back";
            }
            return new Filesystem(fs, type, Action.TRIMMED, free, null, detail);
        } catch (LibGuestFSException trimFailed) {
            if (options.inPlace()) {
                if (firstLine(trimFailed).contains("not supported")) {
                    LOG.warn("fstrim is not supported on {} ({}): its free space stays allocated", fs, type);
                    return new Filesystem(fs, type, Action.TRIM_UNSUPPORTED, null, null, firstLine(trimFailed));
                }
                throw trimFailed;
            }
            // copy mode: zeroes are as good as holes, since the conversion skips them
            g.zero_free_space("/");
            return new Filesystem(fs, type, Action.ZEROED_FREE_SPACE, free, null, "fstrim failed: " + firstLine(trimFailed));
        }
    }

    /**
     * Read-write, as virt-sparsify mounts; ext filesystems with {@code noinit_itable}
     * (kernels that do not know the option get a plain mount).
     */
    private void mount(String fs, String type) throws LibGuestFSException {
        if (EXT.contains(type)) {
            try {
                g.mount_options("noinit_itable", fs, "/");
                return;
            } catch (LibGuestFSException e) {
                LOG.debug("mounting {} with noinit_itable failed ({}); mounting it plainly", fs, firstLine(e));
            }
        }
        g.mount_options("", fs, "/");
    }

    /**
     * The byte ranges of filesystem {@code fs} to trim, or null for all of it:
     * in place on a qcow2 image, only the regions where the image holds
     * clusters (the rest holds nothing to give back, and a discard there would
     * allocate an L2 table). Only ext2/3/4 and xfs take FITRIM ranges in
     * device offsets (btrfs takes its logical addresses, vfat its clusters):
     * other filesystems, and any whose size or place is unknown, are trimmed
     * whole, as virt-sparsify does.
     */
    private List<ByteRanges.Range> trimRanges(String fs, String type) throws LibGuestFSException {
        if (before == null || before.discardable() == null || !(EXT.contains(type) || "xfs".equals(type))) {
            return null;
        }
        List<DiskGeometry.Piece> pieces = geometry().pieces(fs);
        long[] size = pieces == null ? null : fsSize(fs, type);
        return size == null ? null : before.trimRanges(pieces, size[0], size[1]);
    }

    /** {bytes, block size} of mounted filesystem {@code fs} of {@code type}, or null when unknown. */
    private long[] fsSize(String fs, String type) {
        try {
            if ("xfs".equals(type)) {
                XFSInfo x = g.xfs_info("/");
                return x.xfs_blocksize <= 0 ? null : new long[] {x.xfs_datablocks * x.xfs_blocksize, x.xfs_blocksize};
            }
            Map<String, String> sb = g.tune2fs_l(fs);
            long block = Long.parseLong(sb.getOrDefault("Block size", "0").strip());
            long count = Long.parseLong(sb.getOrDefault("Block count", "0").strip());
            return block <= 0 ? null : new long[] {count * block, block};
        } catch (LibGuestFSException | NumberFormatException e) {
            LOG.debug("size of {} unknown ({}); trimming all of it", fs, e.getMessage());
            return null;
        }
    }

    private DiskGeometry geometry() throws LibGuestFSException {
        if (geometry == null) {
            geometry = new DiskGeometry(g);
        }
        return geometry;
    }

    private boolean isLinuxSwap(String dev) {
        try {
            return "SWAPSPACE2".equals(g.pread_device(dev, 10, SWAP_SIGNATURE_OFFSET));
        } catch (LibGuestFSException e) {
            return false;
        }
    }

    /**
     * Swap contents are garbage once the guest is off: discard them all and
     * write the header page back as it was (label, UUID and version, which
     * fstab entries and resume= parameters may name), as virt-sparsify does.
     * In place, a swap area that holds nothing but its header on the host is
     * left alone.
     */
    private Filesystem recreateSwap(String dev, String type) throws LibGuestFSException {
        long size = g.blockdev_getsize64(dev);
        String already = alreadySparse(dev);
        if (already != null) {
            return new Filesystem(dev, type, Action.ALREADY_SPARSE, null, null, already);
        }
        Path header = null;
        try {
            header = Files.createTempFile("guestflow-swap", ".header");
            g.download_offset(dev, header.toString(), 0, SWAP_HEADER);
            if (Files.size(header) != SWAP_HEADER) {
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot read the header of swap area " + dev);
            }
            discardOrZero(dev);
            g.upload_offset(header.toString(), dev, 0);
        } catch (IOException e) {
            throw new UncheckedIOException("keeping the header of swap area " + dev, e);
        } finally {
            if (header != null) {
                header.toFile().delete();
            }
        }
        return new Filesystem(dev, type, Action.SWAP_RECREATED, size, null, null);
    }

    /**
     * In place with the image's allocation known: why discarding swap area
     * {@code dev} would give nothing back, or null when it would (or when
     * that cannot be told).
     */
    private String alreadySparse(String dev) throws LibGuestFSException {
        List<DiskGeometry.Piece> pieces = before == null ? null : geometry().pieces(dev);
        if (pieces == null || pieces.isEmpty()) {
            return null;
        }
        ByteRanges area = geometry().diskRanges(dev);
        long headerAt = pieces.get(0).diskOffset();
        long gain = before.reclaimable(area.minus(ByteRanges.of(headerAt, headerAt + SWAP_HEADER)));
        long cost = before.discardCost(area);
        if (gain > cost) {
            return null;
        }
        return gain == 0 ? "the image holds nothing of it besides its header page"
                : "discarding it would free " + gain + " B and allocate " + cost + " B of qcow2 L2 tables";
    }

    private Filesystem zeroDevice(String dev, String type) throws LibGuestFSException {
        long size = g.blockdev_getsize64(dev);
        if (options.inPlace()) {
            // zeroes first: a discard alone may leave old data readable on devices that do not zero on discard
            g.zero_device(dev);
            g.blkdiscard(dev);
        } else {
            g.zero_device(dev);
        }
        return new Filesystem(dev, type, Action.DEVICE_ZEROED, size, null, null);
    }

    /** Copy mode: a discard on the overlay reads back as zeroes; fall back to writing them. In place: discard. */
    private void discardOrZero(String dev) throws LibGuestFSException {
        try {
            g.blkdiscard(dev);
        } catch (LibGuestFSException e) {
            if (options.inPlace()) {
                throw e;
            }
            g.zero_device(dev);
        }
    }

    /** The unused extents of a volume group, through a temporary LV that takes all of them. */
    private VolumeGroup volumeGroup(String vg) throws LibGuestFSException {
        ByteRanges free = before == null ? null : geometry().vgFree(vg);
        if (free != null) {
            if (free.isEmpty()) {
                return new VolumeGroup(vg, "no-free-space", 0L, null);
            }
            // the temporary LV costs two metadata writes into each metadata area, and LVM writes whole I/O blocks
            long cost = 2L * 2 * LVM_IO_BLOCK * Math.max(1, geometry().metadataAreas(vg)) + before.discardCost(free);
            long gain = before.reclaimable(free);
            if (gain <= cost) {
                LOG.debug("volume group {}: {} B of its free space are allocated, a discard would cost up to {} B", vg, gain, cost);
                return new VolumeGroup(vg, "already-sparse", free.total(), allocation == null ? null : 0L);
            }
        }
        String lv = "gfsparsify" + Long.toHexString(new SecureRandom().nextLong() & 0xffffffffL);
        String dev = "/dev/" + vg + "/" + lv;
        try {
            g.lvcreate_free(lv, vg, 100);
        } catch (LibGuestFSException noFreeExtents) {
            return new VolumeGroup(vg, "no-free-space", 0L, null);
        }
        long before = allocated();
        try {
            long size = g.blockdev_getsize64(dev);
            discardOrZero(dev);
            g.sync();
            Long reclaimed = allocation == null ? null : before - allocated();
            return new VolumeGroup(vg, options.inPlace() ? "discarded" : "free-space-cleared", size, reclaimed);
        } finally {
            g.lvremove(dev);
        }
    }

    private Set<String> readOnlyLvs() throws LibGuestFSException {
        // lvs_full has the attributes but no VG; lvuuid joins it to lvs()'s /dev/VG/LV names
        Map<String, String> attrByUuid = new HashMap<>();
        for (LV lv : g.lvs_full()) {
            attrByUuid.put(lv.lv_uuid.replace("-", ""), lv.lv_attr);
        }
        Set<String> out = new HashSet<>();
        for (String dev : g.lvs()) {
            String attr = attrByUuid.get(g.lvuuid(dev).replace("-", ""));
            // lv_attr's second character is the permission: w(riteable) or r(ead-only)
            if (attr != null && attr.length() > 1 && attr.charAt(1) == 'r') {
                out.add(dev);
            }
        }
        return out;
    }

    private boolean isReadOnlyBtrfsSnapshot() {
        try {
            return g.btrfs_subvolume_show("/").getOrDefault("Flags", "").contains("readonly");
        } catch (LibGuestFSException e) {
            return false;
        }
    }

    private long allocated() {
        return allocation == null ? 0 : allocation.getAsLong();
    }

    private Filesystem withReclaimed(Filesystem f, long before) {
        if (allocation == null || f.freeBytes() == null) {
            return f;
        }
        return new Filesystem(f.device(), f.type(), f.action(), f.freeBytes(), before - allocated(), f.detail());
    }

    private static GuestflowException refuse(String why) {
        return new GuestflowException(ErrorCode.OPERATION_FAILED, "sparsify refused: " + why);
    }

    private static String firstLine(Exception e) {
        String m = String.valueOf(e.getMessage()).strip();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
