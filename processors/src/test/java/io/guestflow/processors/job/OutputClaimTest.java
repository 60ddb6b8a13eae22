package io.guestflow.processors.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.guestflow.pool.GuestflowException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputClaimTest {
    @TempDir
    Path dir;

    @Test
    void aSecondJobOnTheSameOutputIsRejectedWhileTheFirstHoldsIt() {
        Path out = dir.resolve("web01.qcow2");
        try (OutputClaim first = OutputClaim.acquire("job-a", out, false)) {
            JobRejectedException e = catchThrowableOfType(JobRejectedException.class, () -> OutputClaim.acquire("job-b", out, false));
            assertThat(e.jobId()).isEqualTo("job-b");
            assertThat(e.reason()).contains("being written by another job").contains("job-a");
        }
        // released: the lock file is gone and the output can be claimed again
        assertThat(dir.resolve(".web01.qcow2" + TempArtifacts.LOCK_SUFFIX)).doesNotExist();
        OutputClaim.acquire("job-b", out, false).close();
    }

    /** Many jobs racing for one output: exactly one holds it at any time, however the lock file comes and goes. */
    @Test
    void racingClaimsNeverOverlap() throws Exception {
        Path out = dir.resolve("race.img");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        java.util.concurrent.atomic.AtomicInteger holders = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> all = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int n = t;
            all.add(pool.submit(() -> {
                start.await();
                for (int i = 0; i < 200; i++) {
                    try (OutputClaim c = OutputClaim.acquire("j" + n + "-" + i, out, false)) {
                        most.accumulateAndGet(holders.incrementAndGet(), Math::max);
                        holders.decrementAndGet();
                    } catch (JobRejectedException e) {
                        // another one holds it
                    }
                }
                return null;
            }));
        }
        start.countDown();
        for (Future<?> f : all) {
            f.get();
        }
        pool.shutdown();
        assertThat(most.get()).isEqualTo(1);
    }

    @Test
    void anExistingOutputNeedsOverwriteAndKeepsItsMode() throws Exception {
        Path out = dir.resolve("old.img");
        Files.write(out, new byte[] {1});
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rw-rw----"));
        assertThat(catchThrowableOfType(JobRejectedException.class, () -> OutputClaim.acquire("j", out, false)).reason())
                .contains("exists");
        try (OutputClaim c = OutputClaim.acquire("j", out, true)) {
            Path part = Files.createTempFile(dir, ".old.img.", ".part");
            Files.write(part, new byte[] {2});
            OutputClaim.publish(part, out, true);
            c.finished(OutputClaim.DEFAULT_MODE);
        }
        assertThat(Files.readAllBytes(out)).containsExactly(2);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(out))).isEqualTo("rw-rw----");
        Path fresh = dir.resolve("new.img");
        try (OutputClaim c = OutputClaim.acquire("j", fresh, false)) {
            Path part = Files.createTempFile(dir, ".new.img.", ".part");
            OutputClaim.publish(part, fresh, false);
            c.finished(OutputClaim.DEFAULT_MODE);
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh))).isEqualTo("rw-r--r--");
    }

    @Test
    void publishingNeverReplacesAFileThatAppearedUnlessAllowed() throws Exception {
        Path out = dir.resolve("x.img");
        Path part = Files.createTempFile(dir, ".x.img.", ".part");
        Files.write(out, new byte[] {9});
        GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> OutputClaim.publish(part, out, false));
        assertThat(e.getMessage()).contains("appeared while the job ran");
        assertThat(Files.readAllBytes(out)).containsExactly(9);
        assertThat(part).exists();
    }
}
