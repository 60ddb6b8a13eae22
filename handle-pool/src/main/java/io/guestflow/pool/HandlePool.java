package io.guestflow.pool;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bounded set of appliance slots. A caller leases a slot (fair FIFO, with
 * a timeout), launches one appliance in it with the disks of one guest, runs
 * an operation under a deadline, and closes the lease, which tears the
 * appliance down. Appliances are not reused between jobs: one launch is one
 * set of disks, and a job must not see another job's guest.
 */
public final class HandlePool implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HandlePool.class);

    private final PoolConfig config;
    private final int capacity;
    private final Semaphore slots;
    private final ScheduledExecutorService timer;
    private final Watchdog watchdog;
    private final ImageProbe probe;
    private final Set<ApplianceHandle> live = ConcurrentHashMap.newKeySet();
    private final Set<Lease> leases = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;

    private final AtomicLong launches = new AtomicLong();
    private final AtomicLong launchFailures = new AtomicLong();
    private final AtomicLong launchMillisTotal = new AtomicLong();
    private final AtomicLong lastLaunchMillis = new AtomicLong();
    private final AtomicLong kills = new AtomicLong();
    private final AtomicLong leaseTimeouts = new AtomicLong();
    private final java.util.concurrent.atomic.AtomicInteger consecutiveLaunchFailures = new java.util.concurrent.atomic.AtomicInteger();
    private volatile String lastLaunchFailure;

    public HandlePool(PoolConfig config) {
        this(config, new ImageProbe(config.images()));
    }

    public HandlePool(PoolConfig config, ImageProbe probe) {
        this.config = config;
        this.capacity = config.effectiveMaxAppliances();
        this.slots = new Semaphore(capacity, true);
        this.probe = probe;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "guestflow-watchdog");
            t.setDaemon(true);
            return t;
        });
        this.watchdog = new Watchdog(timer);
        sweepOnce(config);
        LOG.debug("handle pool: {} appliance(s) at once", capacity);
    }

    private static volatile boolean swept;

    /** Once per process: directories a killed predecessor left in /tmp and in our handle directory. */
    private static synchronized void sweepOnce(PoolConfig config) {
        if (swept) {
            return;
        }
        swept = true;
        StaleDirSweeper.sweep(Path.of(System.getenv().getOrDefault("TMPDIR", "/tmp")), "libguestfs");
        StaleDirSweeper.sweep(config.tmpDir(), "h-");
    }

    public PoolConfig config() {
        return config;
    }

    public int capacity() {
        return capacity;
    }

    public Watchdog watchdog() {
        return watchdog;
    }

    public ImageProbe imageProbe() {
        return probe;
    }

    /** KVM or TCG, probing once per process when configured {@code auto}. */
    public AccelerationProbe.Decision acceleration() {
        return AccelerationProbe.decide(config.acceleration(), config);
    }

    /** Leases a slot, waiting at most the configured lease timeout. */
    public Lease lease(String jobId) {
        return lease(jobId, config.leaseTimeout());
    }

    /** Leases a slot, waiting at most {@code timeout} (POOL_EXHAUSTED after that). */
    public Lease lease(String jobId, Duration timeout) {
        if (closing) {
            throw new GuestflowException(ErrorCode.POOL_CLOSED, "handle pool is shutting down");
        }
        try {
            if (!slots.tryAcquire(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                leaseTimeouts.incrementAndGet();
                throw new GuestflowException(ErrorCode.POOL_EXHAUSTED,
                        "no appliance slot free within " + timeout.toSeconds() + " s (" + capacity + " busy)");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestflowException(ErrorCode.POOL_CLOSED, "interrupted while waiting for an appliance slot", e);
        }
        if (closing) {
            slots.release();
            throw new GuestflowException(ErrorCode.POOL_CLOSED, "handle pool is shutting down");
        }
        return new Lease(jobId);
    }

    /**
     * Runs {@code operation} on a fresh appliance with {@code drives} attached:
     * lease, probe the images, launch, arm the deadline, run, tear down.
     * Failures come out as {@link GuestflowException} with a code.
     */
    public <T> T run(String jobId, List<Drive> drives, Duration deadline, GuestEventListener listener,
                     HandleFunction<T> operation) {
        try (Lease lease = lease(jobId)) {
            ApplianceHandle h = lease.launch(drives, listener);
            try (Watchdog.Deadline ignored = watchdog.arm(h, deadline)) {
                return operation.apply(h);
            } catch (Exception e) {
                throw h.translate(e);
            }
        }
    }

    /** An operation over a launched handle. */
    @FunctionalInterface
    public interface HandleFunction<T> {
        T apply(ApplianceHandle handle) throws Exception;
    }

    /**
     * Kills the appliances of the leases {@code holder} holds (the thread that
     * leased them): the job that thread runs then fails with {@code why}.
     * Returns how many were killed.
     */
    public int killLeasesOf(Thread holder, ErrorCode why, String reason) {
        int n = 0;
        for (Lease l : leases) {
            if (l.holder == holder && l.handle != null) {
                l.handle.kill(why, reason);
                n++;
            }
        }
        return n;
    }

    public PoolMetrics metrics() {
        long n = launches.get();
        int free = slots.availablePermits();
        return new PoolMetrics(capacity, capacity - free, free, slots.getQueueLength(), n, launchFailures.get(),
                lastLaunchMillis.get(), n == 0 ? 0 : launchMillisTotal.get() / n, kills.get(), leaseTimeouts.get());
    }

    /** Whether {@link #shutdown} began: no more leases. */
    public boolean isClosing() {
        return closing;
    }

    /** Launches that failed in a row since the last one that worked (0 after a success). */
    public int consecutiveLaunchFailures() {
        return consecutiveLaunchFailures.get();
    }

    /** The error of the latest failed launch, or null. */
    public String lastLaunchFailure() {
        return lastLaunchFailure;
    }

    /**
     * Stops leasing, waits up to {@code grace} for running work, then kills
     * what is still running. Idempotent.
     */
    public void shutdown(Duration grace) {
        closing = true;
        boolean drained = false;
        try {
            drained = slots.tryAcquire(capacity, grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!drained) {
            LOG.warn("handle pool: {} appliance(s) still busy after {} s; killing them", live.size(), grace.toSeconds());
            for (ApplianceHandle h : live) {
                kills.incrementAndGet();
                h.kill(ErrorCode.POOL_CLOSED, "engine shutting down");
            }
        }
        timer.shutdownNow();
    }

    @Override
    public void close() {
        shutdown(config.shutdownGrace());
    }

    /** A held slot. Closing it closes its appliance and frees the slot. */
    public final class Lease implements AutoCloseable {
        private final String jobId;
        private final Thread holder = Thread.currentThread();
        private volatile ApplianceHandle handle;
        private boolean released;
        /** The remote disks this lease attached through their overlays, released with it. */
        private final List<RemoteImage> remotes = new java.util.ArrayList<>();

        private Lease(String jobId) {
            this.jobId = jobId;
            leases.add(this);
        }

        /** Probes and adds {@code drives}, then launches an appliance for them. */
        public ApplianceHandle launch(List<Drive> drives, GuestEventListener listener) {
            return launch(drives, listener, false);
        }

        /**
         * As {@link #launch(List, GuestEventListener)}; {@code debug} turns on the
         * appliance's verbose messages and the call trace for this handle only.
         */
        public ApplianceHandle launch(List<Drive> drives, GuestEventListener listener, boolean debug) {
            return launch(drives, listener, debug, config.allowBackingFiles());
        }

        /**
         * As {@link #launch(List, GuestEventListener, boolean)}; {@code allowBackingFiles}
         * overrides the configuration for drives the caller created itself
         * (an overlay over an input it already probed).
         */
        public ApplianceHandle launch(List<Drive> drives, GuestEventListener listener, boolean debug,
                                      boolean allowBackingFiles) {
            return launch(drives, listener, debug, allowBackingFiles, false);
        }

        /**
         * As {@link #launch(List, GuestEventListener, boolean, boolean)}; with
         * {@code owned} the drives are files the caller created itself (overlays
         * over inputs it probed, new outputs): their own location is trusted, the
         * files below them must pass the image policy.
         */
        public ApplianceHandle launch(List<Drive> drives, GuestEventListener listener, boolean debug,
                                      boolean allowBackingFiles, boolean owned) {
            if (handle != null) {
                throw new IllegalStateException("a lease holds one appliance; close it first");
            }
            if (drives.isEmpty()) {
                throw new GuestflowException(ErrorCode.INVALID_DRIVE, "no disks given");
            }
            // validate every image before paying for a launch; a remote disk is attached as its local overlay
            // (RemoteImage), probed only if the job does not hold it open already, and always read-only: libguestfs
            // keeps writes in its own throw-away layer (a remote disk is changed only by DiskOverlays' commit)
            List<Drive> resolved = new java.util.ArrayList<>();
            for (Drive d : drives) {
                if (d.isLocal()) {
                    resolved.add(owned ? probe.resolveOwned(d) : probe.resolve(d, allowBackingFiles));
                } else {
                    RemoteImage r = probe.openRemote(d, allowBackingFiles);
                    remotes.add(r);
                    resolved.add(r.drive());
                }
            }
            AccelerationProbe.Decision accel = acceleration();
            ApplianceHandle h = new ApplianceHandle(jobId, config, accel.acceleration(),
                    listener == null ? GuestEventListener.NONE : listener, timer);
            handle = h;
            live.add(h);
            if (debug) {
                h.enableDebug();
            }
            resolved.forEach(h::addDrive);
            try {
                h.launch(config.launchTimeout());
            } catch (GuestflowException e) {
                launchFailures.incrementAndGet();
                consecutiveLaunchFailures.incrementAndGet();
                lastLaunchFailure = e.code() + ": " + e.getMessage();
                throw e;
            }
            consecutiveLaunchFailures.set(0);
            launches.incrementAndGet();
            launchMillisTotal.addAndGet(h.launchMillis());
            lastLaunchMillis.set(h.launchMillis());
            return h;
        }

        @Override
        public void close() {
            if (released) {
                return;
            }
            released = true;
            leases.remove(this);
            try {
                if (handle != null) {
                    if (handle.killedFor() != null) {
                        kills.incrementAndGet();
                    }
                    handle.close();
                    live.remove(handle);
                }
            } finally {
                remotes.forEach(RemoteImage::close);
                slots.release();
            }
        }
    }
}
