package io.guestflow.processors.inspect.batch;

import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestEvent;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.Secrets;
import io.guestflow.pool.Watchdog;
import io.guestflow.processors.inspect.InspectJobOperation;
import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecutor;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The appliance lifecycle of a batch of inspect jobs, as {@link JobExecutor}
 * is that of one job: checks each job's disks on its own (a bad disk sends
 * only its job alone), leases and launches one appliance with every
 * remaining guest's disks, runs {@link BatchInspection} on it under the
 * batch's shortest deadline, hands each guest's report over as soon as it
 * has it, and translates the appliance's failures. It says which jobs must
 * run alone, and why; the caller runs them (with its retries). A batch only
 * ever saves launches: any doubt sends a guest to an appliance of its own.
 */
public final class InspectBatchExecutor {
    private static final Logger LOG = LoggerFactory.getLogger(InspectBatchExecutor.class);

    private InspectBatchExecutor() {
    }

    /** What the caller does while the shared appliance lives (events, results, logging context). */
    public interface Guests {
        /** The jobs that share the appliance, before it is leased; closed once it is gone. */
        AutoCloseable sharing(List<Job> jobs);

        /** A libguestfs event of the shared appliance: it is about every job on it. */
        void event(List<Job> jobs, GuestEvent event);

        /** The shared appliance is up; its jobs start now. */
        void started(List<Job> jobs, ApplianceHandle handle);

        /**
         * A guest's report, as soon as it is known. What this throws stops the
         * batch and comes out of {@link #run}: it is not the guest's failure.
         */
        void inspected(Shared shared) throws Exception;
    }

    /**
     * The report of the batch's job {@code index}, inspected on an appliance
     * shared by {@code guests} guests.
     *
     * @param launchStartedAt when the batch began: checking the disks is part of the launch step
     * @param runMillis       how long the appliance had inspected when the report came
     */
    public record Shared(int index, int guests, InspectionReport report, Instant launchStartedAt, long launchMillis,
                         long runMillis) {
    }

    /** Job {@code index} of the batch runs on an appliance of its own, for {@code reason}. */
    public record Alone(int index, String reason) {
    }

    /**
     * Runs the batch; returns the jobs that must run alone, in the order they
     * were sent away.
     *
     * @throws GuestflowException POOL_CLOSED when the pool stops: no result for any unanswered job
     */
    public static List<Alone> run(HandlePool pool, List<Job> batch, Guests guests) throws Exception {
        // as for a job alone, checking the disks is part of the launch step (JobExecutor: lease.launch probes them)
        Instant launchStartedAt = Instant.now();
        // the remote disks checked here stay open (probed once) until the shared launch is over
        List<JobExecutor.RemoteDisks> remotes = new ArrayList<>();
        try {
            return run(pool, batch, guests, launchStartedAt, remotes);
        } finally {
            remotes.forEach(JobExecutor.RemoteDisks::close);
        }
    }

    private static List<Alone> run(HandlePool pool, List<Job> batch, Guests guests, Instant launchStartedAt,
                                   List<JobExecutor.RemoteDisks> remotes) throws Exception {
        Map<Integer, String> alone = new LinkedHashMap<>();
        List<Integer> sharing = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            String refused = disksRefused(pool, batch.get(i), remotes);
            if (refused == null) {
                sharing.add(i);
            } else {
                // the job's own run rejects it with the same message, without a launch
                alone.put(i, "its disks cannot be attached: " + refused);
            }
        }
        sendAloneJobsSharingADisk(batch, sharing, alone);
        if (sharing.size() == 1) {
            alone.put(sharing.remove(0), "no other guest of its batch could share an appliance");
        }
        if (!sharing.isEmpty()) {
            runShared(pool, batch, sharing, alone, guests, launchStartedAt);
        }
        return alone.entrySet().stream().map(e -> new Alone(e.getKey(), e.getValue())).toList();
    }

    /**
     * The same image named by two jobs of the batch would collide on every
     * identity: such jobs go alone without paying for a shared launch first.
     */
    private static void sendAloneJobsSharingADisk(List<Job> batch, List<Integer> sharing, Map<Integer, String> alone) {
        Map<String, Integer> jobsPerDisk = new HashMap<>();
        for (int i : sharing) {
            diskKeys(batch.get(i)).forEach(k -> jobsPerDisk.merge(k, 1, Integer::sum));
        }
        for (Iterator<Integer> it = sharing.iterator(); it.hasNext(); ) {
            int i = it.next();
            diskKeys(batch.get(i)).stream().filter(k -> jobsPerDisk.get(k) > 1).findFirst().ifPresent(k -> {
                alone.put(i, "its disk " + Drive.redact(k) + " is also a disk of another job of the batch");
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
    private static String disksRefused(HandlePool pool, Job job, List<JobExecutor.RemoteDisks> remotes) {
        try {
            remotes.add(JobExecutor.checkDisks(pool, job));
            return null;
        } catch (GuestflowException e) {
            return e.getMessage();
        }
    }

    private static void runShared(HandlePool pool, List<Job> batch, List<Integer> sharing, Map<Integer, String> alone,
                                  Guests guests, Instant launchStartedAt) throws Exception {
        int n = sharing.size();
        List<Job> jobs = sharing.stream().map(batch::get).toList();
        List<Drive> drives = new ArrayList<>();
        List<BatchInspection.Guest> inspected = new ArrayList<>();
        Duration deadline = null;
        for (Job job : jobs) {
            for (Job.Disk d : job.disks()) {
                drives.add(new Drive(Drive.parseUri(d.uri()), d.format(), true, null));
            }
            inspected.add(new BatchInspection.Guest(job.disks().size(), InspectJobOperation.options(job)));
            Duration t = Duration.ofSeconds(job.timeoutSeconds());
            deadline = deadline == null || t.compareTo(deadline) < 0 ? t : deadline;
        }
        boolean[] answered = new boolean[n];
        String batchId = "batch-of-" + n + "-" + jobs.get(0).jobId();
        try (AutoCloseable ignoredContext = guests.sharing(jobs);
             HandlePool.Lease lease = pool.lease(batchId)) {
            ApplianceHandle h = lease.launch(drives, e -> guests.event(jobs, e), false);
            long runStart = System.nanoTime();
            guests.started(jobs, h);
            try (Watchdog.Deadline ignored = pool.watchdog().arm(h, deadline)) {
                BatchInspection.run(h.gfs(), inspected, (i, outcome) -> {
                    answered[i] = true;
                    if (outcome instanceof BatchInspection.Inspected done) {
                        handOver(guests, new Shared(sharing.get(i), n, done.report(), launchStartedAt,
                                h.launchMillis(), (System.nanoTime() - runStart) / 1_000_000));
                    } else {
                        alone.put(sharing.get(i), ((BatchInspection.RunAlone) outcome).reason());
                    }
                });
            } catch (HandOverFailed e) {
                throw e;
            } catch (Exception e) {
                throw h.translate(e);
            }
        } catch (GuestflowException e) {
            if (e.code() == ErrorCode.POOL_CLOSED) {
                throw e; // stopping: no result, no commit; redelivered after a restart
            }
            LOG.warn("shared appliance for {} inspect jobs failed ({}); inspecting the unanswered ones alone", n,
                    Secrets.redact(e.toString()));
            for (int i = 0; i < n; i++) {
                if (!answered[i]) {
                    alone.put(sharing.get(i), "the shared appliance failed: " + e.getMessage());
                }
            }
        } catch (HandOverFailed e) {
            throw (Exception) e.getCause();
        }
    }

    private static void handOver(Guests guests, Shared shared) {
        try {
            guests.inspected(shared);
        } catch (Exception e) {
            throw new HandOverFailed(e);
        }
    }

    /** The caller could not take a report (it could not publish it): the batch stops, not the guest. */
    private static final class HandOverFailed extends RuntimeException {
        HandOverFailed(Exception cause) {
            super(cause);
        }
    }
}
