package io.guestflow.processors.pipeline;

import static io.guestflow.processors.job.DiskAccess.COPY_TO_OUTPUT;
import static io.guestflow.processors.job.DiskAccess.OWN_LAUNCH;
import static io.guestflow.processors.job.DiskAccess.READ;
import static io.guestflow.processors.job.DiskAccess.TRIM_IN_PLACE;
import static io.guestflow.processors.job.DiskAccess.WRITE_IN_PLACE;
import static org.assertj.core.api.Assertions.assertThat;

import io.guestflow.processors.job.DiskAccess;
import io.guestflow.processors.pipeline.LaunchPlan.Mode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LaunchPlanTest {

    private static String plan(DiskAccess... access) {
        return LaunchPlan.of(List.of(access)).launches().stream()
                .map(l -> l.mode().label + l.steps()).reduce((a, b) -> a + " " + b).orElse("");
    }

    @Test
    void inspectSysprepAndInPlaceSparsifyShareOneLaunch() {
        assertThat(plan(READ, WRITE_IN_PLACE, TRIM_IN_PLACE)).isEqualTo("in-place[0, 1, 2]");
    }

    @Test
    void readOnlyPipelinesAreOneReadOnlyLaunch() {
        assertThat(plan(READ, READ, READ)).isEqualTo("read-only[0, 1, 2]");
    }

    @Test
    void aSysprepAfterAnotherWriteStartsItsOwnLaunch() {
        // a sysprep failing half-way throws its launch's writes away: they must be its own
        assertThat(plan(TRIM_IN_PLACE, WRITE_IN_PLACE, READ)).isEqualTo("in-place[0] in-place[1, 2]");
        assertThat(plan(WRITE_IN_PLACE, WRITE_IN_PLACE)).isEqualTo("in-place[0] in-place[1]");
        assertThat(plan(WRITE_IN_PLACE, TRIM_IN_PLACE, TRIM_IN_PLACE, READ)).isEqualTo("in-place[0, 1, 2, 3]");
    }

    @Test
    void aCopyTakesTheReadsBeforeAndAfterItButNoWrites() {
        assertThat(plan(READ, COPY_TO_OUTPUT, READ)).isEqualTo("copy[0, 1, 2]");
        assertThat(plan(WRITE_IN_PLACE, COPY_TO_OUTPUT)).isEqualTo("in-place[0] copy[1]");
        assertThat(plan(COPY_TO_OUTPUT, WRITE_IN_PLACE, TRIM_IN_PLACE)).isEqualTo("copy[0] in-place[1, 2]");
        assertThat(plan(COPY_TO_OUTPUT, TRIM_IN_PLACE)).isEqualTo("copy[0] in-place[1]");
        assertThat(plan(COPY_TO_OUTPUT, COPY_TO_OUTPUT)).isEqualTo("copy[0] copy[1]");
    }

    @Test
    void resizeAlwaysHasALaunchOfItsOwn() {
        assertThat(plan(READ, OWN_LAUNCH, READ, WRITE_IN_PLACE)).isEqualTo("read-only[0] own[1] in-place[2, 3]");
        assertThat(plan(OWN_LAUNCH, OWN_LAUNCH)).isEqualTo("own[0] own[1]");
    }

    /** Every order of up to five steps: the greedy plan has as few launches as the best split found by search. */
    @Test
    void theGreedyPlanIsMinimalForEveryShortPipeline() {
        DiskAccess[] all = DiskAccess.values();
        for (int n = 1; n <= 5; n++) {
            int combos = (int) Math.pow(all.length, n);
            for (int c = 0; c < combos; c++) {
                List<DiskAccess> steps = new ArrayList<>();
                for (int i = 0, x = c; i < n; i++, x /= all.length) {
                    steps.add(all[x % all.length]);
                }
                LaunchPlan p = LaunchPlan.of(steps);
                assertThat(p.launches().size()).as(steps.toString()).isEqualTo(fewestLaunches(steps));
                assertThat(p.launches().stream().flatMap(l -> l.steps().stream()).toList()).as("every step once, in order")
                        .isEqualTo(java.util.stream.IntStream.range(0, n).boxed().toList());
                for (LaunchPlan.Launch l : p.launches()) {
                    assertThat(fits(steps.subList(l.steps().get(0), l.steps().get(l.steps().size() - 1) + 1)))
                            .as(steps + " " + l).isTrue();
                }
            }
        }
    }

    @Test
    void theModeFollowsTheFirstWriter() {
        assertThat(LaunchPlan.of(List.of(READ, TRIM_IN_PLACE)).launches().get(0).mode()).isEqualTo(Mode.IN_PLACE);
        assertThat(LaunchPlan.of(List.of(READ, COPY_TO_OUTPUT)).launches().get(0).mode()).isEqualTo(Mode.COPY);
        assertThat(LaunchPlan.of(List.of(OWN_LAUNCH)).launches().get(0).mode()).isEqualTo(Mode.OWN);
    }

    /** Dynamic programming over all splits into consecutive runs, with the rules written out independently. */
    private static int fewestLaunches(List<DiskAccess> steps) {
        int n = steps.size();
        int[] best = new int[n + 1];
        for (int end = 1; end <= n; end++) {
            best[end] = Integer.MAX_VALUE;
            for (int start = 0; start < end; start++) {
                if (best[start] != Integer.MAX_VALUE && fits(steps.subList(start, end))) {
                    best[end] = Math.min(best[end], best[start] + 1);
                }
            }
        }
        return best[n];
    }

    /** Whether these steps can share one launch, stated directly. */
    private static boolean fits(List<DiskAccess> run) {
        if (run.contains(OWN_LAUNCH)) {
            return run.size() == 1;
        }
        boolean wrote = false;
        boolean copied = false;
        for (DiskAccess a : run) {
            switch (a) {
                case READ -> { }
                case TRIM_IN_PLACE -> {
                    if (copied) {
                        return false;
                    }
                    wrote = true;
                }
                case WRITE_IN_PLACE, COPY_TO_OUTPUT -> {
                    if (wrote) {
                        return false;
                    }
                    wrote = true;
                    copied = a == COPY_TO_OUTPUT;
                }
                default -> throw new IllegalStateException();
            }
        }
        return true;
    }
}
