package io.guestflow.processors.sparsify;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import com.redhat.et.libguestfs.PV;
import com.redhat.et.libguestfs.Partition;
import io.guestflow.processors.job.ByteRanges;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the guest's block devices lie on the one attached disk, in the disk's
 * byte offsets (the offsets the host's image map uses): partitions from the
 * partition table, logical volumes and a volume group's free extents from the
 * LVM metadata. Read only; anything it cannot place (md arrays, striped or
 * mirrored LVs, several disks) is unknown, and the caller then does what
 * virt-sparsify does.
 */
final class DiskGeometry {
    private static final Logger LOG = LoggerFactory.getLogger(DiskGeometry.class);

    /** {@code length} bytes at {@code deviceOffset} of a device are at {@code diskOffset} of the disk. */
    record Piece(long deviceOffset, long diskOffset, long length) {
    }

    private final GuestFS g;
    private final String disk;
    private final Map<String, Optional<LvmMetadata>> vgs = new HashMap<>();
    private Map<String, PV> pvsById;

    DiskGeometry(GuestFS g) throws LibGuestFSException {
        this.g = g;
        String[] devices = g.list_devices();
        this.disk = devices.length == 1 ? devices[0] : null;
    }

    /** The device's pieces in device order, or null when it cannot be placed on the disk. */
    List<Piece> pieces(String device) throws LibGuestFSException {
        if (disk == null) {
            return null;
        }
        if (device.equals(disk)) {
            return List.of(new Piece(0, 0, g.blockdev_getsize64(disk)));
        }
        if (List.of(g.list_partitions()).contains(device)) {
            if (!disk.equals(g.part_to_dev(device))) {
                return null;
            }
            int num = g.part_to_partnum(device);
            for (Partition p : g.part_list(disk)) {
                if (p.part_num == num) {
                    return List.of(new Piece(0, p.part_start, p.part_size));
                }
            }
            return null;
        }
        String[] vgLv = device.startsWith("/dev/") ? device.substring(5).split("/") : new String[0];
        if (vgLv.length != 2 || !List.of(g.lvs()).contains(device)) {
            return null;
        }
        LvmMetadata meta = metadata(vgLv[0]);
        List<LvmMetadata.Piece> lvPieces = meta == null ? null : meta.pieces(vgLv[1]);
        if (lvPieces == null) {
            return null;
        }
        List<Piece> out = new ArrayList<>();
        for (LvmMetadata.Piece lp : lvPieces) {
            Piece pv = pvPiece(meta, lp.pv());
            if (pv == null || lp.pvOffset() + lp.length() > pv.length()) {
                return null;
            }
            out.add(new Piece(lp.lvOffset(), pv.diskOffset() + lp.pvOffset(), lp.length()));
        }
        return out;
    }

    /** The disk ranges of {@code device}, or null when it cannot be placed. */
    ByteRanges diskRanges(String device) throws LibGuestFSException {
        List<Piece> pieces = pieces(device);
        if (pieces == null) {
            return null;
        }
        List<ByteRanges.Range> out = new ArrayList<>();
        for (Piece p : pieces) {
            out.add(new ByteRanges.Range(p.diskOffset(), p.diskOffset() + p.length()));
        }
        return ByteRanges.of(out);
    }

    /** The disk ranges of the free extents of volume group {@code vg}, or null when they cannot be placed. */
    ByteRanges vgFree(String vg) throws LibGuestFSException {
        LvmMetadata meta = metadata(vg);
        if (meta == null) {
            return null;
        }
        ByteRanges out = ByteRanges.empty();
        for (String pv : meta.pvs().keySet()) {
            Piece piece = pvPiece(meta, pv);
            if (piece == null) {
                return null;
            }
            out = out.union(meta.free(pv).shift(piece.diskOffset()));
        }
        return out;
    }

    /** How many metadata areas the PVs of {@code vg} have: LVM writes its metadata to each. */
    int metadataAreas(String vg) throws LibGuestFSException {
        LvmMetadata meta = metadata(vg);
        int n = 0;
        for (LvmMetadata.Pv pv : meta == null ? List.<LvmMetadata.Pv>of() : meta.pvs().values()) {
            PV p = pvsById().get(normalize(pv.id()));
            n += p == null ? 2 : (int) Math.max(0, p.pv_mda_count);
        }
        return n;
    }

    private Piece pvPiece(LvmMetadata meta, String pvKey) throws LibGuestFSException {
        LvmMetadata.Pv pv = meta.pvs().get(pvKey);
        PV found = pv == null ? null : pvsById().get(normalize(pv.id()));
        if (found == null) {
            return null;
        }
        // pvs_full names the PV as the kernel does, which need not be libguestfs's name: find it by UUID
        for (String dev : g.pvs()) {
            if (normalize(g.pvuuid(dev)).equals(normalize(pv.id()))) {
                List<Piece> pieces = pieces(dev);
                return pieces == null || pieces.size() != 1 ? null : pieces.get(0);
            }
        }
        return null;
    }

    private Map<String, PV> pvsById() throws LibGuestFSException {
        if (pvsById == null) {
            pvsById = new HashMap<>();
            for (PV pv : g.pvs_full()) {
                pvsById.put(normalize(pv.pv_uuid), pv);
            }
        }
        return pvsById;
    }

    private LvmMetadata metadata(String vg) throws LibGuestFSException {
        Optional<LvmMetadata> m = vgs.get(vg);
        if (m == null) {
            LvmMetadata parsed = null;
            try {
                parsed = LvmMetadata.parse(vg, g.vgmeta(vg));
            } catch (IllegalArgumentException e) {
                LOG.warn("cannot read the layout of volume group {}: {}", vg, e.getMessage());
            }
            m = Optional.ofNullable(parsed);
            vgs.put(vg, m);
        }
        return m.orElse(null);
    }

    private static String normalize(String uuid) {
        return uuid.replace("-", "").toLowerCase(java.util.Locale.ROOT);
    }
}
