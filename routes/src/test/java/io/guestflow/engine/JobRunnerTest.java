package io.guestflow.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.guestflow.config.GuestflowConfig;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.processors.JobOperations;
import io.guestflow.processors.job.FailedWithOutputException;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecution;
import io.guestflow.processors.job.JobOperation;
import io.guestflow.processors.job.JobRejectedException;
import java.util.concurrent.atomic.AtomicBoolean;
import io.guestflow.processors.job.OperationRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * JobRunner's decisions that need no appliance (the real runs are in the tests module). The jobs name a
 * real raw disk, which passes the image checks before preparation; the executions attach a missing one,
 * which the pool refuses before any launch.
 */
class JobRunnerTest {
    @TempDir
    static Path dir;
    static final List<Drive> MISSING = List.of(Drive.of("/nonexistent/x.qcow2"));

    @BeforeAll
    static void disk() throws Exception {
        Files.write(dir.resolve("disk.img"), new byte[1 << 16]);
    }

    private static Job job(String id) {
        return job(id, dir.resolve("disk.img").toString());
    }

    private static Job job(String id, String disk) {
        return new Job(id, "inspect", List.of(new Job.Disk(disk, null, null)), null,
                JsonNodeFactory.instance.objectNode(), 60, Map.of(), false);
    }

    private static JobRunner runner(HandlePool pool, MockProducer<String, byte[]> producer) {
        EngineConfig cfg = GuestflowConfig.engine(Map.of("guestflow.engine.retry-backoff-ms", "10"), Map.of());
        return new JobRunner(cfg, pool, JobOperations.defaults(),
                new EventPublisher(producer, "log", "test", Engine.json()));
    }

    @Test
    void aStoppingPoolLeavesTheJobForRedeliveryInsteadOfFailingIt() {
        MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
        HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
        pool.shutdown(Duration.ZERO);
        GuestflowException e = catchThrowableOfType(GuestflowException.class,
                () -> runner(pool, producer).run(job("j-closing"), Instant.now(), Instant.now()));
        assertThat(e.code()).isEqualTo(ErrorCode.POOL_CLOSED);
        assertThat(producer.history()).as("no retrying events either").isEmpty();
    }

    @Test
    void missingDiskIsRejectedWithoutRetries() {
        MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1))) {
            var r = runner(pool, producer).run(job("j-missing", "/nonexistent/x.qcow2"), Instant.now(), Instant.now());
            assertThat(r.status().name()).isEqualTo("REJECTED");
            assertThat(r.error().code()).isEqualTo("DISK_NOT_FOUND");
            assertThat(r.attempts()).isEqualTo(1);
            assertThat(pool.metrics().launches()).isZero();
        }
    }

    /** An operation that writes: it creates a temporary output in prepare and must lose it on failure. */
    private static final class WritingOperation implements JobOperation {
        final AtomicBoolean closed = new AtomicBoolean();
        final boolean rejectInPrepare;

        WritingOperation(boolean rejectInPrepare) {
            this.rejectInPrepare = rejectInPrepare;
        }

        @Override public String type() { return "inspect"; }
        @Override public String description() { return "test"; }
        @Override public boolean readOnly() { return false; }
        @Override public void validate(Job job) { }
        @Override public Object run(ApplianceHandle handle, Job job) { throw new AssertionError("must not run"); }

        @Override
        public JobExecution prepare(Job job, List<Drive> disks) {
            if (rejectInPrepare) {
                throw new JobRejectedException(job.jobId(), "not enough temporary space");
            }
            return new JobExecution() {
                @Override public List<Drive> drives() { return MISSING; }
                @Override public Object run(ApplianceHandle handle) { throw new AssertionError("must not run"); }
                @Override public void close() { closed.set(true); }
            };
        }
    }

    /** A job whose launch fails after part of its work: the execution attaches what it did to the failure. */
    private static final class PartlyDoneOperation implements JobOperation {
        @Override public String type() { return "inspect"; }
        @Override public String description() { return "test"; }
        @Override public boolean readOnly() { return true; }
        @Override public void validate(Job job) { }
        @Override public Object run(ApplianceHandle handle, Job job) { throw new AssertionError("must not run"); }

        @Override
        public JobExecution prepare(Job job, List<Drive> disks) {
            return new JobExecution() {
                @Override public List<Drive> drives() { return MISSING; }
                @Override public Object run(ApplianceHandle handle) { throw new AssertionError("must not run"); }

                @Override
                public RuntimeException failed(RuntimeException failure) {
                    return new FailedWithOutputException(ErrorCode.OPERATION_FAILED, "step 2 failed: "
                            + failure.getMessage(), failure, Map.of("done", List.of("step 1")), false);
                }
            };
        }
    }

    @Test
    void aFailureWithOutputKeepsTheOutputInTheFailedResult() {
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1))) {
            var r = runnerWith(pool, new PartlyDoneOperation()).run(job("j-partly"), Instant.now(), Instant.now());
            assertThat(r.status().name()).isEqualTo("FAILED");
            assertThat(r.error().message()).startsWith("step 2 failed: ");
            assertThat(r.error().retryable()).isFalse();
            assertThat(r.output()).isEqualTo(Map.of("done", List.of("step 1")));
            assertThat(r.attempts()).isEqualTo(1);
        }
    }

    private static JobRunner runnerWith(HandlePool pool, JobOperation op) {
        MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
        EngineConfig cfg = GuestflowConfig.engine(Map.of("guestflow.engine.retry-backoff-ms", "10"), Map.of());
        return new JobRunner(cfg, pool, new OperationRegistry().register(op),
                new EventPublisher(producer, "log", "test", Engine.json()));
    }

    @Test
    void aRejectionFoundWhilePreparingIsARejectedResult() {
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1))) {
            var r = runnerWith(pool, new WritingOperation(true)).run(job("j-prep"), Instant.now(), Instant.now());
            assertThat(r.status().name()).isEqualTo("REJECTED");
            assertThat(r.error().message()).contains("not enough temporary space");
            assertThat(pool.metrics().launches()).isZero();
        }
    }

    @Test
    void aFailedAttemptClosesWhatItsPreparationCreated() {
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1))) {
            WritingOperation op = new WritingOperation(false);
            var r = runnerWith(pool, op).run(job("j-cleanup"), Instant.now(), Instant.now());
            assertThat(r.error().code()).isEqualTo("DISK_NOT_FOUND");
            assertThat(op.closed).as("execution closed after the failed launch").isTrue();
        }
    }
}
