package io.guestflow.processors.sparsify;

import io.guestflow.processors.job.ByteRanges;
import io.guestflow.processors.job.ImageMap;
import java.util.ArrayList;
import java.util.List;

/**
 * In place: where the image held host space before the job, in disk offsets.
 * It tells the sparsifier what a discard can give back, and what it can cost:
 * qemu allocates a qcow2 L2 table (one cluster) to record a discard in a
 * region of the disk that has none yet, so trimming free space the image never
 * held makes a qcow2 image grow. A raw file only ever loses blocks to a
 * discard.
 */
record Allocation(ImageMap map, ByteRanges hostSpace) {

    /** For raw and qcow2 images; null for other formats (whose discards are left to qemu, as virt-sparsify does). */
    static Allocation of(ImageMap map) {
        return "raw".equals(map.format()) || "qcow2".equals(map.format()) ? new Allocation(map, map.hostSpace()) : null;
    }

    long unit() {
        return map.allocationUnit();
    }

    /** Host bytes a discard of {@code disk} gives back: what it holds in the units it covers whole. */
    long reclaimable(ByteRanges disk) {
        return hostSpace.intersect(disk.roundIn(unit())).total();
    }

    /** Host bytes a discard of {@code disk} adds: qcow2 L2 tables for the regions it touches that hold nothing yet. */
    long discardCost(ByteRanges disk) {
        long span = map.l2Span();
        if (span == 0) {
            return 0;
        }
        ByteRanges empty = disk.roundOut(span).minus(hostSpace.roundOut(span));
        return empty.total() / span * map.clusterSize();
    }

    /** Where discards may go without adding metadata: null when anywhere (raw). */
    ByteRanges discardable() {
        long span = map.l2Span();
        return span == 0 ? null : hostSpace.roundOut(span);
    }

    /**
     * What to trim of a filesystem so that no discard lands where it would
     * add metadata, in the filesystem's own byte offsets (what FITRIM takes on
     * ext2/3/4 and xfs, whose offsets are the device's); null to trim all of it.
     * The kernel refuses a range that starts past the filesystem's end or is
     * shorter than a block, and widens a range's start to a block boundary:
     * the ranges are cut to the filesystem and narrowed to whole blocks.
     *
     * @param pieces  where the filesystem's device lies on the disk, in device order
     * @param fsBytes the filesystem's size (block count times block size)
     * @param block   the filesystem's block size
     */
    List<ByteRanges.Range> trimRanges(List<DiskGeometry.Piece> pieces, long fsBytes, long block) {
        ByteRanges discardable = discardable();
        if (discardable == null) {
            return null;
        }
        List<ByteRanges.Range> onDevice = new ArrayList<>();
        for (DiskGeometry.Piece p : pieces) {
            ByteRanges here = discardable.intersect(ByteRanges.of(p.diskOffset(), p.diskOffset() + p.length()));
            onDevice.addAll(here.shift(p.deviceOffset() - p.diskOffset()).list());
        }
        ByteRanges whole = ByteRanges.of(0, fsBytes).roundIn(block);
        ByteRanges ranges = ByteRanges.of(onDevice).intersect(whole).roundIn(block);
        return ranges.equals(whole) ? null : ranges.list();
    }
}
