package io.guestflow.processors.sparsify;

import static org.assertj.core.api.Assertions.assertThat;

import io.guestflow.processors.job.ByteRanges;
import io.guestflow.processors.job.ImageMap;
import java.util.List;
import org.junit.jupiter.api.Test;

class AllocationTest {
    private static final long K = 1024;
    private static final long M = K * K;

    /** A 2 GiB qcow2 (64 KiB clusters: one L2 table maps 512 MiB) with data in its first 512 MiB and at 1.5 GiB. */
    private static final ImageMap QCOW2 = new ImageMap("qcow2", 2048 * M, 64 * K, true, 8, List.of(
            new ImageMap.Extent(0, M, 0, true, false, true),
            new ImageMap.Extent(M, 1535 * M, 0, false, true, false),
            new ImageMap.Extent(1536 * M, 64 * K, 0, true, false, true),
            new ImageMap.Extent(1536 * M + 64 * K, 512 * M - 64 * K, 0, false, true, false)));

    private static final ImageMap RAW = new ImageMap("raw", 2048 * M, 0, false, 0, List.of(
            new ImageMap.Extent(0, M, 0, true, false, true),
            new ImageMap.Extent(M, 2047 * M, 0, false, true, false)));

    @Test
    void aDiscardInAQcow2RegionWithoutAnL2TableCostsOneCluster() {
        Allocation a = Allocation.of(QCOW2);
        assertThat(a.map().l2Span()).isEqualTo(512 * M);
        assertThat(a.discardable()).as("the regions whose L2 tables exist")
                .isEqualTo(ByteRanges.of(List.of(new ByteRanges.Range(0, 512 * M), new ByteRanges.Range(1536 * M, 2048 * M))));
        assertThat(a.discardCost(ByteRanges.of(100 * M, 200 * M))).isZero();
        assertThat(a.discardCost(ByteRanges.of(100 * M, 1100 * M))).as("512 MiB-1 GiB and 1-1.5 GiB hold nothing")
                .isEqualTo(2 * 64 * K);
        assertThat(a.reclaimable(ByteRanges.of(0, 2048 * M))).isEqualTo(M + 64 * K);
        assertThat(a.reclaimable(ByteRanges.of(32 * K, 96 * K))).as("no cluster covered whole").isZero();
        assertThat(a.reclaimable(ByteRanges.of(32 * K, 192 * K))).as("the clusters at 64 and 128 KiB").isEqualTo(128 * K);
    }

    @Test
    void aRawFileOnlyLosesBlocksToADiscard() {
        Allocation a = Allocation.of(RAW);
        assertThat(a.discardable()).as("anywhere").isNull();
        assertThat(a.discardCost(ByteRanges.of(0, 2048 * M))).isZero();
        assertThat(a.reclaimable(ByteRanges.of(2 * K, 10 * K))).as("the 4 KiB block 4-8 KiB").isEqualTo(4 * K);
    }

    @Test
    void aFilesystemIsTrimmedOnlyWhereTheQcow2ImageHasL2TablesInWholeBlocksInsideItself() {
        Allocation a = Allocation.of(QCOW2);
        // a 1 GiB filesystem from 300 MiB + 2 KiB on: its L2-backed parts are 300 MiB+2 KiB-512 MiB and 1.5-2 GiB
        long start = 300 * M + 2 * K;
        List<DiskGeometry.Piece> pieces = List.of(new DiskGeometry.Piece(0, start, 1700 * M));
        long fs = 1024 * M;
        assertThat(a.trimRanges(pieces, fs, 4 * K)).as("cut to whole 4 KiB blocks and to the filesystem's 1 GiB")
                .containsExactly(new ByteRanges.Range(0, 212 * M - 4 * K));
        assertThat(a.trimRanges(pieces, 1700 * M, 4 * K)).containsExactly(new ByteRanges.Range(0, 212 * M - 4 * K),
                new ByteRanges.Range(1536 * M - start + 2 * K, 1700 * M));
        // an LV in two pieces, its second (device 100-200 MiB) at disk 1.5 GiB
        List<DiskGeometry.Piece> lv = List.of(new DiskGeometry.Piece(0, 1024 * M, 100 * M),
                new DiskGeometry.Piece(100 * M, 1536 * M, 100 * M));
        assertThat(a.trimRanges(lv, 200 * M, 4 * K)).containsExactly(new ByteRanges.Range(100 * M, 200 * M));
        List<DiskGeometry.Piece> inside = List.of(new DiskGeometry.Piece(0, 1600 * M, 100 * M));
        assertThat(a.trimRanges(inside, 100 * M, 4 * K)).as("all of it: one plain fstrim").isNull();
        assertThat(a.trimRanges(List.of(new DiskGeometry.Piece(0, 1024 * M, 100 * M)), 100 * M, 4 * K))
                .as("nothing of it lies where the image has clusters").isEmpty();
        assertThat(Allocation.of(RAW).trimRanges(pieces, fs, 4 * K)).as("raw: all of it").isNull();
    }

    @Test
    void otherFormatsAreLeftToQemu() {
        assertThat(Allocation.of(new ImageMap("vmdk", M, 0, false, 0, List.of()))).isNull();
    }
}
