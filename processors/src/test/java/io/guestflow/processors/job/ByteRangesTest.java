package io.guestflow.processors.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ByteRangesTest {
    private static ByteRanges r(long... bounds) {
        List<ByteRanges.Range> out = new java.util.ArrayList<>();
        for (int i = 0; i < bounds.length; i += 2) {
            out.add(new ByteRanges.Range(bounds[i], bounds[i + 1]));
        }
        return ByteRanges.of(out);
    }

    @Test
    void rangesAreSortedAndMergedWhenTheyTouchOrOverlap() {
        assertThat(r(50, 60, 0, 10, 10, 20, 15, 30, 40, 40).list())
                .containsExactly(new ByteRanges.Range(0, 30), new ByteRanges.Range(50, 60));
        assertThat(r(0, 10, 20, 25).total()).isEqualTo(15);
        assertThat(r().isEmpty()).isTrue();
    }

    @Test
    void intersectionUnionAndDifference() {
        ByteRanges a = r(0, 100, 200, 300);
        ByteRanges b = r(50, 250, 290, 400);
        assertThat(a.intersect(b)).isEqualTo(r(50, 100, 200, 250, 290, 300));
        assertThat(a.union(b)).isEqualTo(r(0, 400));
        assertThat(a.minus(b)).isEqualTo(r(0, 50, 250, 290));
        assertThat(b.minus(a)).isEqualTo(r(100, 200, 300, 400));
        assertThat(a.minus(r(0, 1000))).isEqualTo(ByteRanges.empty());
        assertThat(a.minus(ByteRanges.empty())).isEqualTo(a);
        assertThat(r(0, 100).minus(r(10, 20, 30, 40, 90, 95))).isEqualTo(r(0, 10, 20, 30, 40, 90, 95, 100));
    }

    @Test
    void roundingToBlocks() {
        ByteRanges a = r(1000, 9000, 12288, 12289);
        assertThat(a.roundOut(4096)).isEqualTo(r(0, 16384));
        assertThat(a.roundIn(4096)).as("only the block 4096-8192 is covered whole").isEqualTo(r(4096, 8192));
        assertThat(r(5, 7).roundIn(4096).isEmpty()).isTrue();
    }

    @Test
    void shiftingCutsWhatFallsBelowZero() {
        assertThat(r(10, 20, 100, 200).shift(-50)).isEqualTo(r(50, 150));
        assertThat(r(10, 20).shift(1000)).isEqualTo(r(1010, 1020));
    }
}
