package io.guestflow.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The retry decisions alone: which failures run again, how often, and after what wait (nothing sleeps). */
class RetriesTest {
    private final List<Duration> slept = new ArrayList<>();
    private final List<String> told = new ArrayList<>();

    private Retries retries(int maxAttempts) {
        return new Retries(maxAttempts, Duration.ofMillis(100), slept::add);
    }

    private String run(Retries r, ErrorCode... failures) {
        return r.run(n -> {
            if (n <= failures.length) {
                throw new GuestflowException(failures[n - 1], "attempt " + n);
            }
            return "done on " + n;
        }, (n, e, backoff) -> told.add(n + " " + e.code() + " " + backoff.toMillis()),
                (n, e) -> "gave up on " + n + ": " + e.getMessage());
    }

    @Test
    void retryableFailuresRunAgainWithABackoffThatDoubles() {
        assertThat(run(retries(4), ErrorCode.LAUNCH_FAILED, ErrorCode.APPLIANCE_CRASHED, ErrorCode.POOL_EXHAUSTED))
                .isEqualTo("done on 4");
        assertThat(told).containsExactly("1 LAUNCH_FAILED 100", "2 APPLIANCE_CRASHED 200", "3 POOL_EXHAUSTED 400");
        assertThat(slept).containsExactly(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(400));
    }

    @Test
    void theLastAttemptsFailureGoesToTheCaller() {
        assertThat(run(retries(2), ErrorCode.LAUNCH_FAILED, ErrorCode.LAUNCH_TIMEOUT, ErrorCode.LAUNCH_FAILED))
                .isEqualTo("gave up on 2: attempt 2");
        assertThat(slept).containsExactly(Duration.ofMillis(100));
    }

    @Test
    void aFailureNoRetryCuresIsGivenUpAtOnce() {
        assertThat(run(retries(5), ErrorCode.TIMEOUT)).isEqualTo("gave up on 1: attempt 1");
        assertThat(run(retries(5), ErrorCode.LAUNCH_FAILED, ErrorCode.DISK_NOT_FOUND)).isEqualTo("gave up on 2: attempt 2");
        assertThat(told).containsExactly("1 LAUNCH_FAILED 100");
    }

    @Test
    void oneAttemptMeansNoRetry() {
        assertThat(run(retries(1), ErrorCode.APPLIANCE_CRASHED)).isEqualTo("gave up on 1: attempt 1");
        assertThat(slept).isEmpty();
    }

    /** POOL_CLOSED is retryable as an error code, but here it means stop: no retry and no result. */
    @Test
    void aClosedPoolPassesThroughUntouched() {
        GuestflowException e = catchThrowableOfType(() -> run(retries(3), ErrorCode.POOL_CLOSED),
                GuestflowException.class);
        assertThat(e.code()).isEqualTo(ErrorCode.POOL_CLOSED);
        assertThat(e.getMessage()).isEqualTo("attempt 1");
        assertThat(told).isEmpty();
        assertThat(slept).isEmpty();
    }

    @Test
    void anInterruptedWaitStopsWithPoolClosed() {
        Retries r = new Retries(3, Duration.ofMillis(100), d -> {
            throw new InterruptedException();
        });
        try {
            assertThatThrownBy(() -> run(r, ErrorCode.LAUNCH_FAILED))
                    .isInstanceOfSatisfying(GuestflowException.class,
                            g -> assertThat(g.code()).isEqualTo(ErrorCode.POOL_CLOSED))
                    .hasMessageContaining("interrupted while waiting to retry");
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted(); // leave the test thread as it was
        }
    }

    @Test
    void atLeastOneAttempt() {
        assertThatThrownBy(() -> retries(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
