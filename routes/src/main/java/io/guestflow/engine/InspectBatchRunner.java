package io.guestflow.engine;

import io.guestflow.engine.InspectBatchCollector.Queued;
import io.guestflow.management.EngineMetrics;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.GuestEvent;
import io.guestflow.pool.HandlePool;
import io.guestflow.processors.inspect.batch.InspectBatchExecutor;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobResult;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Hands one batch of inspect jobs to {@link InspectBatchExecutor}, which
 * runs the guests that can share one appliance on it; publishes each shared
 * guest's result as soon as it has it (with the jobs' events and metrics),
 * then runs the guests that could not share the appliance alone through the
 * {@link JobRunner}, with its retries.
 */
final class InspectBatchRunner {

    /** Publishes one result before returning; the offset commit waits for it. */
    @FunctionalInterface
    interface ResultSink {
        void publish(JobResult result) throws Exception;
    }

    private final EngineConfig config;
    private final HandlePool pool;
    private final JobRunner runner;
    private final EventPublisher events;
    private final EngineMetrics metrics;

    InspectBatchRunner(EngineConfig config, HandlePool pool, JobRunner runner, EventPublisher events,
                       EngineMetrics metrics) {
        this.metrics = metrics;
        this.config = config;
        this.pool = pool;
        this.runner = runner;
        this.events = events;
    }

    void run(List<Queued> batch, ResultSink sink) throws Exception {
        List<Job> jobs = batch.stream().map(Queued::job).toList();
        boolean debugEvents = config.pool().verbose() || config.pool().trace();
        List<InspectBatchExecutor.Alone> alone = InspectBatchExecutor.run(pool, jobs, new InspectBatchExecutor.Guests() {
            @Override
            public AutoCloseable sharing(List<Job> sharing) {
                // lines about the shared appliance are about every job on it
                return JobLogContext.of(String.join(",", sharing.stream().map(Job::jobId).toList()), "inspect");
            }

            @Override
            public void event(List<Job> sharing, GuestEvent e) {
                sharing.forEach(j -> events.libguestfs(j.jobId(), e, debugEvents));
            }

            @Override
            public void started(List<Job> sharing, ApplianceHandle h) {
                metrics.sharedLaunch(sharing.size(), h.launchMillis());
                for (Job j : sharing) {
                    events.lifecycle(j.jobId(), Lifecycle.STARTED, Map.of("attempt", 1, "launchMillis", h.launchMillis(),
                            "qemuPid", h.pid(), "batchGuests", sharing.size()));
                }
            }

            @Override
            public void inspected(InspectBatchExecutor.Shared s) throws Exception {
                Queued q = batch.get(s.index());
                Instant end = Instant.now();
                sink.publish(JobResult.succeeded(q.job(), new JobResult.Timings(q.queuedAt(), q.receivedAt(),
                        s.launchStartedAt(), end, Instant.now(), s.launchMillis(), s.runMillis()), s.report(), 1,
                        config.instanceId()).withBatch(JobResult.Batch.shared(s.guests())));
            }
        });
        for (InspectBatchExecutor.Alone a : alone) {
            Queued q = batch.get(a.index());
            sink.publish(runner.run(q.job(), q.queuedAt(), q.receivedAt()).withBatch(JobResult.Batch.alone(a.reason())));
        }
    }
}
