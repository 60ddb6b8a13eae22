package io.guestflow.processors.job;

import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Decryption;
import io.guestflow.pool.Drive;
import io.guestflow.pool.RemoteImage;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.LuksKey;
import io.guestflow.pool.Watchdog;

import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Runs one attempt of a job on a pool: check the disks against the pool's
 * image policy, claim the output, prepare, lease, launch, run under the
 * deadline, flush (for operations that write), tear down, finish, give the
 * output its mode, let go of the output. A job's LUKS keys are read (from
 * its {@link KeySource}) after its disks are checked and before any slot is
 * leased, so every refusal comes before a launch; the containers they open
 * are opened right after each launch, before the operation runs. The engine
 * (with retries and events) and the local CLI commands both go through here,
 * so a job behaves the same through Kafka and on the command line.
 */
public final class JobExecutor {

    private JobExecutor() {
    }

    /** What one attempt got to; filled as it goes, so a failure still reports its timings. */
    public static final class Attempt {
        private Instant launchStartedAt;
        private long launchMillis = -1;
        private long runStartNanos;
        /** Run time of the launches before the current one (pipelines). */
        private long runMillisBefore;
        private Instant runEndedAt;
        private boolean runStarted;

        public Instant launchStartedAt() {
            return launchStartedAt;
        }

        /** -1 when the appliance never came up. */
        public long launchMillis() {
            return launchMillis;
        }

        public Instant runEndedAt() {
            return runEndedAt;
        }

        /** How long the operation has run (so far, when it failed); -1 when it never started. */
        public long runMillis() {
            if (!runStarted) {
                return -1;
            }
            return runMillisBefore + (runStartNanos == 0 ? 0 : (System.nanoTime() - runStartNanos) / 1_000_000);
        }
    }

    /** The job's disks as drives, writable only when the operation writes them. */
    public static List<Drive> disksOf(Job job, JobOperation op) {
        return job.disks().stream()
                .map(d -> new Drive(Drive.parseUri(d.uri()), d.format(), op.readOnly(), d.label())).toList();
    }

    /**
     * Runs one attempt and returns the result's output. Every failure comes
     * out as a {@link GuestflowException} (a {@link JobRejectedException}
     * from {@code prepare} passes through unchanged). A job of several
     * launches (a pipeline) runs them one after the other, each under the
     * job's deadline; the attempt's launch and run times are their sums.
     *
     * @param onLaunched called once each appliance is up, before the operation runs on it
     */
    public static Object execute(HandlePool pool, JobOperation op, Job job, GuestEventListener listener,
                                 Consumer<ApplianceHandle> onLaunched, Attempt attempt) {
        return execute(pool, op, job, listener, onLaunched, attempt, OutputClaim.DEFAULT_MODE, KeySource.NONE);
    }

    /**
     * As {@link #execute(HandlePool, JobOperation, Job, GuestEventListener, Consumer, Attempt)};
     * a new output gets {@code outputMode} (a replaced one keeps its own);
     * the job's keys come from {@code keySource}.
     */
    public static Object execute(HandlePool pool, JobOperation op, Job job, GuestEventListener listener,
                                 Consumer<ApplianceHandle> onLaunched, Attempt attempt,
                                 Set<PosixFilePermission> outputMode, KeySource keySource) {
        // keys on a type that takes none (resize, info): refused whatever way the job came
        JobKeys.checkOperation(op, job);
        if (!op.launches()) {
            // no appliance, no output: the operation (info) vets its disks against the policy itself, and reports
            // what the full check refuses (damage, a backing chain it does not follow) instead of rejecting the job
            return runWithoutAppliance(pool, op, job, attempt);
        }
        // the configured image policy on every disk, before an operation creates anything over it
        checkRemoteWrites(pool.imageProbe().policy().remoteHosts(), op, job);
        // remote disks stay open (probed once, RemoteImage) while the job runs: its launches and operations reuse them
        try (RemoteDisks ignored = checkDisks(pool, job)) {
            // read now, before an output or a slot exists, and held only by this call: never kept beyond the job
            List<LuksKey> keys = keySource.keys(job);
            if (job.output() == null) {
                return executeClaimed(pool, op, job, listener, onLaunched, attempt, keys);
            }
            Path output = Path.of(Drive.parseUri(job.output().uri()));
            try (OutputClaim claim = OutputClaim.acquire(job.jobId(), output, job.output().overwrite())) {
                Object result = executeClaimed(pool, op, job, listener, onLaunched, attempt, keys);
                claim.finished(outputMode);
                return result;
            }
        }
    }

    /** The remote disks a job holds open ({@link RemoteImage}), closed together. */
    public static final class RemoteDisks implements AutoCloseable {
        private final List<RemoteImage> open = new java.util.ArrayList<>();

        @Override
        public void close() {
            open.forEach(RemoteImage::close);
            open.clear();
        }
    }

    /**
     * The one decision on writing remote disks: a job that changes its disks
     * in place (sysprep, in-place sparsify, a pipeline whose first launch
     * writes) is REJECTED when one of them is remote, unless the pool allows
     * remote writes and the protocol can write ({@link
     * io.guestflow.pool.RemoteHosts#refusesWrites}); decided before any launch
     * and before anything opens the disk. Allowed, the work goes through a
     * local overlay backed by the remote disk, committed to the server at the
     * end ({@link DiskOverlays}).
     */
    public static void checkRemoteWrites(io.guestflow.pool.RemoteHosts hosts, JobOperation op, Job job) {
        for (int i = 0; i < job.disks().size(); i++) {
            Job.Disk d = job.disks().get(i);
            Drive drive = Drive.of(d.uri());
            if (drive.isLocal() || !op.writesDisksInPlace(job)) {
                continue;
            }
            String why = hosts.refusesWrites(drive);
            if (why != null) {
                throw new JobRejectedException(job.jobId(), job.type() + " changes its disks in place, and disks[" + i
                        + "] " + Drive.redact(d.uri()) + " is remote: " + why + "; read-only work (inspect, journal,"
                        + " info, dry runs, copy-mode sparsify, resize into a local output) is allowed");
            }
        }
    }

    /**
     * Every disk of {@code job} against the pool's image policy: REJECTED
     * before anything is created. Remote disks are opened (probed once) and
     * stay open until the result is closed.
     */
    public static RemoteDisks checkDisks(HandlePool pool, Job job) {
        RemoteDisks remotes = new RemoteDisks();
        try {
            for (Job.Disk d : job.disks()) {
                Drive drive = new Drive(Drive.parseUri(d.uri()), d.format(), true, d.label());
                if (drive.isLocal()) {
                    pool.imageProbe().resolve(drive, pool.config().allowBackingFiles());
                } else {
                    remotes.open.add(pool.imageProbe().openRemote(drive, pool.config().allowBackingFiles()));
                }
            }
            return remotes;
        } catch (RuntimeException e) {
            remotes.close();
            throw e;
        }
    }

    private static Object executeClaimed(HandlePool pool, JobOperation op, Job job, GuestEventListener listener,
                                         Consumer<ApplianceHandle> onLaunched, Attempt attempt,
                                         List<LuksKey> keys) {
        JobExecution execution = prepare(op, job);
        while (true) {
            JobExecution next;
            Object output;
            try (JobExecution current = execution) {
                output = launchAndRun(pool, op, job, current, listener, onLaunched, attempt, keys);
                try {
                    next = current.next();
                } catch (GuestflowException | JobRejectedException e) {
                    throw e;
                } catch (Exception e) {
                    throw new GuestflowException(ErrorCode.OPERATION_FAILED, job.type() + " could not prepare its next "
                            + "launch: " + e.getMessage(), e);
                }
            }
            if (next == null) {
                return output;
            }
            execution = next;
        }
    }

    /** One launch: lease, launch, open the LUKS containers, run under the deadline, flush, tear down, finish. */
    private static Object launchAndRun(HandlePool pool, JobOperation op, Job job, JobExecution execution,
                                       GuestEventListener listener, Consumer<ApplianceHandle> onLaunched, Attempt attempt,
                                       List<LuksKey> keys) {
        try {
            Object output;
            try (HandlePool.Lease lease = pool.lease(job.jobId())) {
                Instant launchStartedAt = Instant.now();
                if (attempt.launchStartedAt == null) {
                    attempt.launchStartedAt = launchStartedAt;
                }
                ApplianceHandle h = lease.launch(execution.drives(), listener, job.debug(),
                        pool.config().allowBackingFiles(), execution.ownsBackingChains());
                attempt.launchMillis = Math.max(attempt.launchMillis, 0) + h.launchMillis();
                onLaunched.accept(h);
                attempt.runStartNanos = System.nanoTime();
                attempt.runStarted = true;
                try (Watchdog.Deadline ignored = pool.watchdog().arm(h, Duration.ofSeconds(job.timeoutSeconds()))) {
                    // every launch (a pipeline has several) sees the guest decrypted, under the job's deadline
                    Decryption.open(h, keys);
                    output = execution.run(h);
                    if (!op.readOnly()) {
                        h.shutdown(); // a write that did not reach the disk is a failure, inside the deadline
                    }
                } catch (JobRejectedException e) {
                    throw e; // the guest or the plan showed the job cannot apply (no OS to seal, an impossible resize): REJECTED
                } catch (Exception e) {
                    throw h.translate(e);
                } finally {
                    attempt.runMillisBefore += (System.nanoTime() - attempt.runStartNanos) / 1_000_000;
                    attempt.runStartNanos = 0;
                }
                attempt.runEndedAt = Instant.now();
            }
            try {
                return execution.finish(output);
            } catch (GuestflowException | JobRejectedException e) {
                throw e;
            } catch (Exception e) {
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, job.type() + " failed after the appliance run: "
                        + e.getMessage(), e);
            }
        } catch (RuntimeException e) {
            throw execution.failed(e);
        }
    }

    /** A job type that launches nothing (info): no slot, no appliance; its run time is the whole attempt. */
    private static Object runWithoutAppliance(HandlePool pool, JobOperation op, Job job, Attempt attempt) {
        attempt.runStartNanos = System.nanoTime();
        attempt.runStarted = true;
        try {
            Object output = op.runWithoutAppliance(job, pool);
            attempt.runEndedAt = Instant.now();
            return output;
        } catch (GuestflowException | JobRejectedException e) {
            throw e;
        } catch (Exception e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, job.type() + " failed: " + e.getMessage(), e);
        } finally {
            attempt.runMillisBefore += (System.nanoTime() - attempt.runStartNanos) / 1_000_000;
            attempt.runStartNanos = 0;
        }
    }

    private static JobExecution prepare(JobOperation op, Job job) {
        try {
            return op.prepare(job, disksOf(job, op));
        } catch (GuestflowException | JobRejectedException e) {
            throw e;
        } catch (Exception e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, job.type() + " could not be prepared: "
                    + e.getMessage(), e);
        }
    }
}
