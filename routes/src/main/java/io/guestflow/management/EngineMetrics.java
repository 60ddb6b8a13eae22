package io.guestflow.management;

import io.guestflow.pool.HandlePool;
import io.guestflow.processors.job.JobResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;

/**
 * The engine's metrics, every one named {@code guestflow_*} in Prometheus
 * conventions (Micrometer adds {@code _total}, {@code _seconds} and the
 * histogram series). The README's "Metrics" table lists them; keep the two in
 * step (MetricsEndpointTest reads the names from there).
 */
public final class EngineMetrics {
    private static final Duration[] JOB_BUCKETS = seconds(1, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200,
            1800, 3600, 7200, 14400);
    private static final Duration[] LAUNCH_BUCKETS = seconds(1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300);

    private final MeterRegistry registry;
    private final AtomicLong consumerLag = new AtomicLong(-1);

    public EngineMetrics(MeterRegistry registry) {
        this.registry = registry;
        Counter.builder("guestflow.dead.letters").description("Messages sent to the dead-letter topic")
                .register(registry);
        Gauge.builder("guestflow.jobs.consumer.lag", consumerLag, AtomicLong::get).baseUnit("records")
                .description("Jobs waiting in the jobs topic for this consumer group (-1: not known yet)")
                .register(registry);
    }

    /** Metrics that go nowhere (tests of single classes). */
    public static EngineMetrics none() {
        return new EngineMetrics(new SimpleMeterRegistry());
    }

    public MeterRegistry registry() {
        return registry;
    }

    /**
     * A result was published: counted by type ("unknown" for a job rejected
     * before its type was read) and status; durations of jobs that ran.
     */
    public void jobFinished(JobResult r) {
        String type = r.type() == null ? "unknown" : r.type();
        String status = r.status().name().toLowerCase(Locale.ROOT);
        Counter.builder("guestflow.jobs").description("Jobs finished, by type and status (a published result)")
                .tags("type", type, "status", status).register(registry).increment();
        if (r.error() != null && r.status() == JobResult.Status.FAILED) {
            Counter.builder("guestflow.job.failures").description("Failed jobs by type and error code")
                    .tags("type", type, "code", r.error().code()).register(registry).increment();
        }
        JobResult.Timings t = r.timings();
        if (t != null && t.launchStartedAt() != null && t.receivedAt() != null && t.finishedAt() != null) {
            Timer.builder("guestflow.job.duration").description("Jobs that ran, from received to result, by type")
                    .tags("type", type).serviceLevelObjectives(JOB_BUCKETS).register(registry)
                    .record(Duration.between(t.receivedAt(), t.finishedAt()));
        }
        boolean shared = r.batch() != null && r.batch().shared();
        if (t != null && t.launchMillis() != null && t.launchMillis() >= 0 && !shared) {
            launched(type, t.launchMillis());
        }
        if (r.batch() != null) {
            Counter.builder("guestflow.inspect.guests")
                    .description("Batched inspect jobs by how they ran: on a shared launch or alone")
                    .tags("launch", shared ? "shared" : "alone").register(registry).increment();
        }
    }

    /** One appliance launch of a job of {@code type} took {@code millis}. */
    public void launched(String type, long millis) {
        Timer.builder("guestflow.launch.duration").description("Appliance launch times by job type")
                .tags("type", type).serviceLevelObjectives(LAUNCH_BUCKETS).register(registry)
                .record(Duration.ofMillis(millis));
    }

    /** {@code guests} inspect jobs shared one appliance that took {@code launchMillis} to launch. */
    public void sharedLaunch(int guests, long launchMillis) {
        DistributionSummary.builder("guestflow.inspect.batch.guests")
                .description("Guests per shared inspection launch")
                .serviceLevelObjectives(2, 3, 4, 6, 8, 12, 16, 24, 32).register(registry).record(guests);
        launched("inspect", launchMillis);
    }

    public void deadLettered() {
        registry.counter("guestflow.dead.letters").increment();
    }

    public void jobSkipped() {
        Counter.builder("guestflow.jobs.skipped").description("Jobs not run again: their jobId already has a result")
                .register(registry).increment();
    }

    /**
     * A job given up without a result (its claim was lost, the engine stops, or its result could not be
     * published in time): it runs again, here or on another instance.
     */
    public void jobAbandoned() {
        Counter.builder("guestflow.jobs.abandoned").description("Jobs given up without a result; they run again")
                .register(registry).increment();
    }

    /** An event reached the log topic ({@code kind}: lifecycle or libguestfs). */
    public void eventPublished(String kind) {
        Counter.builder("guestflow.events.published").description("Events published on the log topic, by kind")
                .tags("kind", kind).register(registry).increment();
    }

    public void journalRecordPublished() {
        Counter.builder("guestflow.journal.records").description("Guest journal records published on the journal topic")
                .register(registry).increment();
    }

    public void consumerLag(long records) {
        consumerLag.set(records);
    }

    /** The pool's gauges and counters, read from the pool on every scrape. */
    public void bindPool(HandlePool pool) {
        Gauge.builder("guestflow.pool.capacity", pool, p -> p.metrics().capacity())
                .description("Appliances allowed at once").register(registry);
        Gauge.builder("guestflow.pool.busy", pool, p -> p.metrics().busy())
                .description("Appliance slots in use").register(registry);
        Gauge.builder("guestflow.pool.waiting", pool, p -> p.metrics().waiting())
                .description("Jobs waiting for an appliance slot").register(registry);
        FunctionCounter.builder("guestflow.launches", pool, p -> p.metrics().launches())
                .description("Successful appliance launches").register(registry);
        FunctionCounter.builder("guestflow.launch.failures", pool, p -> p.metrics().launchFailures())
                .description("Failed or timed-out appliance launches").register(registry);
        FunctionCounter.builder("guestflow.appliance.kills", pool, p -> p.metrics().kills())
                .description("Appliances killed (deadline, shutdown)").register(registry);
        FunctionCounter.builder("guestflow.lease.timeouts", pool, p -> p.metrics().leaseTimeouts())
                .description("Jobs that gave up waiting for a slot (POOL_EXHAUSTED)").register(registry);
    }

    /** The number of jobIds known to have a result. */
    public void bindDedupIndex(IntSupplier size) {
        Gauge.builder("guestflow.dedup.index.jobs", size, s -> s.getAsInt()).strongReference(true)
                .description("JobIds with a published result, known to the dedup index").register(registry);
    }

    /** 1 when every readiness check is up, else 0. */
    public void bindHealth(HealthChecks checks) {
        Gauge.builder("guestflow.ready", checks, c -> c.ready() ? 1 : 0)
                .description("1 when every readiness check is up").register(registry);
    }

    private static Duration[] seconds(long... s) {
        Duration[] d = new Duration[s.length];
        for (int i = 0; i < s.length; i++) {
            d[i] = Duration.ofSeconds(s[i]);
        }
        return d;
    }
}
