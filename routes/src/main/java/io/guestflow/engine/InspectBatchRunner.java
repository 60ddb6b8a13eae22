package io.guestflow.engine;

import io.guestflow.engine.InspectBatchCollector.Queued;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.Watchdog;
import io.guestflow.processors.inspect.InspectJobOperation;
import io.guestflow.processors.inspect.batch.BatchInspection;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobResult;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one batch of inspect jobs: checks each job's disks on its own (a bad
 * disk rejects only its job), launches one appliance with every remaining
 * guest's disks, publishes each guest's result as soon as
 * {@link BatchInspection} has it, then runs the guests that could not share
 * the appliance (colliding names, a failure in the shared appliance) alone
 * through the {@link JobRunner}, with its retries. A batch only ever saves
 * launches: any doubt sends a guest to an appliance of its own.
 */
final class InspectBatchRunner {
    private static final Logger LOG = LoggerFactory.getLogger(InspectBatchRunner.class);

    /** Publishes one result before returning; the offset commit waits for it. */
    @FunctionalInterface
    interface ResultSink {
        void publish(JobResult result) throws Exception;
    }

    private final EngineConfig config;
    private final HandlePool pool;
    private final JobRunner runner;
    private final EventPublisher events;

    private final io.guestflow.management.EngineMetrics metrics;

    InspectBatchRunner(EngineConfig config, HandlePool pool, JobRunner runner, EventPublisher events,
                       io.guestflow.management.EngineMetrics metrics) {
        this.metrics = metrics;
        this.config = config;
        this.pool = pool;
        this.runner = runner;
        this.events = events;
    }

    void run(List<Queued> batch, ResultSink sink) throws Exception {
        // as for a job alone, checking the disks is part of the launch step (JobExecutor: lease.launch probes them)
        Instant launchStartedAt = Instant.now();
        Map<Queued, String> alone = new LinkedHashMap<>();
        List<Queued> sharing = new ArrayList<>();
        for (Queued q : batch) {
            String refused = disksRefused(q.job());
            if (refused == null) {
                sharing.add(q);
            } else {
                // the job's own run rejects it with the same message, without a launch
                alone.put(q, "its disks cannot be attached: " + refused);
            }
        }
        sendAloneJobsSharingADisk(sharing, alone);
        if (sharing.size() == 1) {
            alone.put(sharing.remove(0), "no other guest of its batch could share an appliance");
        }
        if (!sharing.isEmpty()) {
            runShared(sharing, alone, sink, launchStartedAt);
        }
        for (Map.Entry<Queued, String> e : alone.entrySet()) {
            Queued q = e.getKey();
            sink.publish(runner.run(q.job(), q.queuedAt(), q.receivedAt()).withBatch(JobResult.Batch.alone(e.getValue())));
        }
    }

    /**
     * The same image named by two jobs of the batch would collide on every
     * identity: such jobs go alone without paying for a shared launch first.
     */
    private static void sendAloneJobsSharingADisk(List<Queued> sharing, Map<Queued, String> alone) {
        Map<String, Integer> jobsPerDisk = new HashMap<>();
        for (Queued q : sharing) {
            diskKeys(q.job()).forEach(k -> jobsPerDisk.merge(k, 1, Integer::sum));
        }
        for (Iterator<Queued> it = sharing.iterator(); it.hasNext(); ) {
            Queued q = it.next();
            diskKeys(q.job()).stream().filter(k -> jobsPerDisk.get(k) > 1).findFirst().ifPresent(k -> {
                alone.put(q, "its disk " + Drive.redact(k) + " is also a disk of another job of the batch");
                it.remove();
            });
        }
    }

    /** Each disk once, local ones by their real path. */
    private static Set<String> diskKeys(Job job) {
        Set<String> keys = new LinkedHashSet<>();
        for (Job.Disk d : job.disks()) {
            URI uri = Drive.parseUri(d.uri());
            String key = uri.toString();
            if ("file".equals(uri.getScheme())) {
                try {
                    key = Path.of(uri).toRealPath().toString();
                } catch (IOException | RuntimeException e) {
                    // checked before: it exists; keep the URI if it vanished since
                }
            }
            keys.add(key);
        }
        return keys;
    }

    /** Null when every disk of the job passes the checks a launch makes first. */
    private String disksRefused(Job job) {
        try {
            for (Job.Disk d : job.disks()) {
                pool.imageProbe().resolve(new Drive(Drive.parseUri(d.uri()), d.format(), true, null),
                        pool.config().allowBackingFiles());
            }
            return null;
        } catch (GuestflowException e) {
            return e.getMessage();
        }
    }

    private void runShared(List<Queued> sharing, Map<Queued, String> alone, ResultSink sink, Instant launchStartedAt)
            throws Exception {
        int n = sharing.size();
        List<Drive> drives = new ArrayList<>();
        List<BatchInspection.Guest> guests = new ArrayList<>();
        Duration deadline = null;
        for (Queued q : sharing) {
            for (Job.Disk d : q.job().disks()) {
                drives.add(new Drive(Drive.parseUri(d.uri()), d.format(), true, null));
            }
            guests.add(new BatchInspection.Guest(q.job().disks().size(), InspectJobOperation.options(q.job())));
            Duration t = Duration.ofSeconds(q.job().timeoutSeconds());
            deadline = deadline == null || t.compareTo(deadline) < 0 ? t : deadline;
        }
        boolean[] answered = new boolean[n];
        boolean debugEvents = config.pool().verbose() || config.pool().trace();
        String batchId = "batch-of-" + n + "-" + sharing.get(0).job().jobId();
        // lines about the shared appliance are about every job on it
        try (JobLogContext ignoredContext = JobLogContext.of(String.join(",",
                     sharing.stream().map(q -> q.job().jobId()).toList()), "inspect");
             HandlePool.Lease lease = pool.lease(batchId)) {
            ApplianceHandle h = lease.launch(drives,
                    e -> sharing.forEach(q -> events.libguestfs(q.job().jobId(), e, debugEvents)), false);
            metrics.sharedLaunch(n, h.launchMillis());
            long runStart = System.nanoTime();
            for (Queued q : sharing) {
                events.lifecycle(q.job().jobId(), Lifecycle.STARTED, Map.of("attempt", 1, "launchMillis", h.launchMillis(),
                        "qemuPid", h.pid(), "batchGuests", n));
            }
            try (Watchdog.Deadline ignored = pool.watchdog().arm(h, deadline)) {
                BatchInspection.run(h.gfs(), guests, (i, outcome) -> {
                    answered[i] = true;
                    Queued q = sharing.get(i);
                    if (outcome instanceof BatchInspection.Inspected done) {
                        Instant end = Instant.now();
                        publish(sink, JobResult.succeeded(q.job(), new JobResult.Timings(q.queuedAt(),
                                q.receivedAt(), launchStartedAt, end, Instant.now(), h.launchMillis(),
                                (System.nanoTime() - runStart) / 1_000_000), done.report(), 1, config.instanceId())
                                .withBatch(JobResult.Batch.shared(n)));
                    } else {
                        alone.put(q, ((BatchInspection.RunAlone) outcome).reason());
                    }
                });
            } catch (PublishFailed e) {
                throw e;
            } catch (Exception e) {
                throw h.translate(e);
            }
        } catch (GuestflowException e) {
            if (e.code() == ErrorCode.POOL_CLOSED) {
                throw e; // stopping: no result, no commit; redelivered after a restart
            }
            LOG.warn("shared appliance for {} inspect jobs failed ({}); inspecting the unanswered ones alone", n,
                    io.guestflow.pool.Secrets.redact(e.toString()));
            for (int i = 0; i < n; i++) {
                if (!answered[i]) {
                    alone.put(sharing.get(i), "the shared appliance failed: " + e.getMessage());
                }
            }
        } catch (PublishFailed e) {
            throw (Exception) e.getCause();
        }
    }

    private static void publish(InspectBatchRunner.ResultSink sink, JobResult r) {
        try {
            sink.publish(r);
        } catch (Exception e) {
            throw new PublishFailed(e);
        }
    }

    /** A result could not be published: the poll fails uncommitted, not the guest. */
    private static final class PublishFailed extends RuntimeException {
        PublishFailed(Exception cause) {
            super(cause);
        }
    }
}
