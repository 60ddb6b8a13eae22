package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestEvent;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.pool.PoolMetrics;
import io.guestflow.samples.SampleGuests.Image;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/** The pool against real appliances: bound, watchdog, launch timeout, events, cleanup. */
@Tag("appliance")
class HandlePoolTest {
    private static List<Path> tmpBefore;
    private static Path image;

    @BeforeAll
    static void setUp() {
        tmpBefore = Leftovers.libguestfsTmpDirs();
        image = Fixtures.image(Image.BLANK_EXT4);
    }

    @AfterAll
    static void noLeftovers() {
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isEmpty();
        Leftovers.assertNoLibguestfsDirsLeft(tmpBefore);
    }

    /**
     * Two jobs on a pool of one: they never overlap; the first sleeps in the
     * appliance past its deadline and is killed by the watchdog with TIMEOUT
     * within seconds; the second then runs normally, with its events bridged.
     */
    @Test
    void boundIsRespectedAndTheWatchdogKillsAStuckCall() throws Exception {
        PoolConfig cfg = PoolConfig.defaults().withMaxAppliances(1).withDebug(false, true);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger maxRunning = new AtomicInteger();
        List<GuestEvent> events = new CopyOnWriteArrayList<>();
        ExecutorService exec = Executors.newFixedThreadPool(2);
        try (HandlePool pool = new HandlePool(cfg)) {
            long[] stuckCallMillis = new long[1];
            CompletableFuture<Object> stuck = CompletableFuture.supplyAsync(() -> pool.run("stuck",
                    List.of(Drive.of(image.toString())), Duration.ofSeconds(5), e -> { }, h -> {
                        maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                        long t0 = System.nanoTime();
                        try {
                            // the deadline counts from the start of the operation; launch is not charged
                            h.gfs().sleep(120);
                            return "slept";
                        } finally {
                            stuckCallMillis[0] = (System.nanoTime() - t0) / 1_000_000;
                            running.decrementAndGet();
                        }
                    }), exec);
            // let the first job take the only slot
            while (pool.metrics().busy() == 0 && !stuck.isDone()) {
                Thread.sleep(20);
            }
            CompletableFuture<Map<String, String>> normal = CompletableFuture.supplyAsync(() -> pool.run("normal",
                    List.of(Drive.of(image.toString())), Duration.ofMinutes(5), events::add, h -> {
                        maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                        try {
                            return h.gfs().list_filesystems();
                        } finally {
                            running.decrementAndGet();
                        }
                    }), exec);

            GuestflowException timeout = catchThrowableOfType(GuestflowException.class, () -> {
                try {
                    stuck.join();
                } catch (java.util.concurrent.CompletionException ce) {
                    throw ce.getCause();
                }
            });
            assertThat(timeout).isNotNull();
            assertThat(timeout.code()).isEqualTo(ErrorCode.TIMEOUT);
            assertThat(timeout.getMessage()).contains("deadline of 5 s");
            assertThat(stuckCallMillis[0]).as("killed within seconds of the deadline").isBetween(4_000L, 15_000L);

            Map<String, String> fs = normal.get(10, TimeUnit.MINUTES);
            assertThat(fs).containsEntry("/dev/sda1", "ext4");
            assertThat(maxRunning.get()).as("jobs running at once on a pool of 1").isEqualTo(1);
            assertThat(events).as("trace events of the job's handle are bridged")
                    .anyMatch(e -> e.kind() == GuestEvent.Kind.TRACE && e.message().contains("list_filesystems"));
            assertThat(events).allMatch(e -> e.handleId().equals("normal"));

            PoolMetrics m = pool.metrics();
            assertThat(m.launches()).isEqualTo(2);
            assertThat(m.kills()).isEqualTo(1);
            assertThat(m.busy()).isZero();
            assertThat(m.meanLaunchMillis()).isPositive();
        } finally {
            exec.shutdownNow();
        }
        assertThat(Leftovers.qemuChildren()).isEmpty();
    }

    @Test
    void leaseTimesOutWhenThePoolIsFull() {
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
             HandlePool.Lease held = pool.lease("holder")) {
            long t0 = System.nanoTime();
            GuestflowException e = catchThrowableOfType(GuestflowException.class,
                    () -> pool.lease("waiter", Duration.ofMillis(300)));
            assertThat(e.code()).isEqualTo(ErrorCode.POOL_EXHAUSTED);
            assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(250L, 5_000L);
            assertThat(pool.metrics().leaseTimeouts()).isEqualTo(1);
            assertThat(pool.metrics().busy()).isEqualTo(1);
        }
    }

    @Test
    void launchThatOutlivesItsTimeoutIsKilled() {
        PoolConfig cfg = PoolConfig.defaults().withMaxAppliances(1).withLaunchTimeout(Duration.ofSeconds(3));
        try (HandlePool pool = new HandlePool(cfg)) {
            pool.acceleration(); // probe first: it must not count against this launch
            long t0 = System.nanoTime();
            GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> pool.run("slow-launch",
                    List.of(Drive.of(image.toString())), Duration.ofMinutes(1), ev -> { }, h -> "launched"));
            // a KVM host may boot in under 3 s; then there is nothing to kill
            if (e != null) {
                assertThat(e.code()).isEqualTo(ErrorCode.LAUNCH_TIMEOUT);
                assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(15_000L);
                assertThat(pool.metrics().launchFailures()).isEqualTo(1);
            }
        }
        assertThat(Leftovers.qemuChildren()).isEmpty();
    }

    @Test
    void shutdownKillsWorkThatOutlivesTheGracePeriod() throws Exception {
        HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1).withShutdownGrace(Duration.ofSeconds(1)));
        CompletableFuture<Object> job = CompletableFuture.supplyAsync(() -> pool.run("long",
                List.of(Drive.of(image.toString())), Duration.ofMinutes(10), e -> { }, h -> {
                    h.gfs().sleep(120);
                    return "slept";
                }));
        // wait until the appliance is up and the call is running
        while (pool.metrics().launches() == 0 && !job.isDone()) {
            Thread.sleep(50);
        }
        Thread.sleep(500);
        long t0 = System.nanoTime();
        pool.shutdown(Duration.ofSeconds(1));
        GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> {
            try {
                job.join();
            } catch (java.util.concurrent.CompletionException ce) {
                throw ce.getCause();
            }
        });
        assertThat(e.code()).isEqualTo(ErrorCode.POOL_CLOSED);
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(10_000L);
        assertThat(catchThrowableOfType(GuestflowException.class, () -> pool.lease("late")).code())
                .isEqualTo(ErrorCode.POOL_CLOSED);
        assertThat(Leftovers.qemuChildren()).isEmpty();
    }
}
