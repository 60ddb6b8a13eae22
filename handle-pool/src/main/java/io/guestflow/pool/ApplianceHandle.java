package io.guestflow.pool;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.StandardOpenOption;
import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One libguestfs handle and the appliance it launches: settings, drives,
 * launch under a timeout, the qemu pid, the event bridge, killing, and a
 * close that leaves no qemu process and no temporary directory behind.
 *
 * <p>Owned by one thread at a time. Only {@link #kill} may be called from
 * another thread (the watchdog): it never calls into the handle, because a
 * busy handle holds its lock for the whole call.
 */
public final class ApplianceHandle implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ApplianceHandle.class);

    private final String id;
    private final GuestFS g;
    private final Path tmpDir;
    private FileChannel ownerLockChannel;
    private FileLock ownerLock;
    private final ScheduledExecutorService timer;
    private final List<Drive> drives = new ArrayList<>();
    private volatile int pid = -1;
    private volatile boolean launched;
    private volatile boolean closed;
    private volatile ErrorCode killedFor;
    private volatile String killReason;
    private long launchMillis = -1;
    /** The roots of the last inspect_os, while nothing has changed the disks since. */
    private String[] inspectedRoots;

    ApplianceHandle(String id, PoolConfig config, Acceleration accel, GuestEventListener listener,
                    ScheduledExecutorService timer) {
        this.id = id;
        this.timer = timer;
        try {
            Files.createDirectories(config.tmpDir());
            // a private directory per handle: libguestfs puts its overlay here, so the
            // qemu command line names it and a launch that hangs can be found and killed
            this.tmpDir = Files.createTempDirectory(config.tmpDir(), "h-");
            // held while the handle lives: other processes' sweepers must not take this directory
            // (with writable drives nothing on qemu's command line names it)
            this.ownerLockChannel = FileChannel.open(tmpDir.resolve(StaleDirSweeper.OWNER_LOCK),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            this.ownerLock = ownerLockChannel.lock();
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.LAUNCH_FAILED, "cannot create handle directory under " + config.tmpDir() + ": " + e.getMessage(), e);
        }
        try {
            g = new GuestFS();
        } catch (LibGuestFSException e) {
            deleteTmpDir();
            throw new GuestflowException(ErrorCode.LAUNCH_FAILED, "cannot create libguestfs handle: " + e.getMessage(), e);
        }
        try {
            g.set_identifier(sanitizeIdentifier(id));
            g.set_tmpdir(tmpDir.toString());
            if (config.cacheDir() != null) {
                Files.createDirectories(config.cacheDir());
                g.set_cachedir(config.cacheDir().toString());
            }
            if (config.appliance().fixed()) {
                // a folder with README.fixed: libguestfs boots it as it is, no supermin run before the launch
                g.set_path(FixedAppliance.ensure(config).toString());
            }
            if (config.memsizeMb() > 0) {
                g.set_memsize(config.memsizeMb());
            }
            g.set_smp(config.smp());
            if (accel == Acceleration.TCG) {
                g.set_backend_settings(new String[] {"force_tcg"});
            }
            g.set_verbose(config.verbose());
            g.set_trace(config.trace());
            g.set_event_callback((event, eh, buffer, array) -> listener.onEvent(toEvent(event, buffer, array)),
                    GuestFS.EVENT_ALL);
        } catch (GuestflowException e) {
            closeQuietly();
            throw e;
        } catch (LibGuestFSException | IOException e) {
            closeQuietly();
            throw new GuestflowException(ErrorCode.LAUNCH_FAILED, "cannot configure libguestfs handle: " + e.getMessage(), e);
        }
    }

    public String id() {
        return id;
    }

    /** The libguestfs handle, for operations. Do not close it: close this object. */
    public GuestFS gfs() {
        return g;
    }

    /**
     * {@code inspect_os}, once per launch: steps sharing a launch (a pipeline)
     * reuse its answer, and with it the inspection data the daemon keeps for
     * the {@code inspect_get_*} calls, until a step that may have changed the
     * disks calls {@link #disksChanged()}. Inspection costs ~20 s per guest
     * with TCG.
     */
    public String[] inspectOs() throws LibGuestFSException {
        if (inspectedRoots == null) {
            inspectedRoots = g.inspect_os();
        }
        return inspectedRoots.clone();
    }

    /** The disks may have changed: the next {@link #inspectOs()} inspects again. */
    public void disksChanged() {
        inspectedRoots = null;
    }

    /** Appliance debug messages and the call trace, as events; before launch. */
    void enableDebug() {
        try {
            g.set_verbose(true);
            g.set_trace(true);
        } catch (LibGuestFSException e) {
            throw new GuestflowException(ErrorCode.LAUNCH_FAILED, "cannot enable debug: " + e.getMessage(), e);
        }
    }

    /** The drives added, in order (/dev/sda, /dev/sdb, ...). */
    public List<Drive> drives() {
        return List.copyOf(drives);
    }

    /** Adds a drive whose format is resolved; only before launch. */
    public void addDrive(Drive drive) {
        if (launched) {
            throw new IllegalStateException("drives must be added before launch");
        }
        try {
            g.add_drive_opts(drive.filename(), drive.addDriveOptions());
            drives.add(drive);
        } catch (LibGuestFSException e) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "cannot add " + drive + ": " + e.getMessage(), e);
        }
    }

    /**
     * Launches the appliance; past {@code timeout} its qemu is killed and this
     * throws LAUNCH_TIMEOUT. Records the qemu pid on this (the owning) thread.
     */
    public void launch(Duration timeout) {
        long start = System.nanoTime();
        ScheduledFuture<?> guard = timer.schedule(
                () -> kill(ErrorCode.LAUNCH_TIMEOUT, "appliance did not start within " + timeout.toSeconds() + " s"),
                timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            g.launch();
            pid = g.get_pid();
            launched = true;
        } catch (LibGuestFSException e) {
            ErrorCode why = killedFor != null ? killedFor : ErrorCode.LAUNCH_FAILED;
            String reason = killedFor != null ? killReason : "appliance failed to start";
            throw new GuestflowException(why, reason + ": " + e.getMessage(), e);
        } finally {
            guard.cancel(false);
            launchMillis = (System.nanoTime() - start) / 1_000_000;
        }
        if (killedFor != null) {
            // the timer fired between a successful launch and the cancel
            throw new GuestflowException(killedFor, killReason);
        }
        LOG.debug("handle {} launched in {} ms, qemu pid {}", id, launchMillis, pid);
    }

    public long launchMillis() {
        return launchMillis;
    }

    public int pid() {
        return pid;
    }

    public boolean isLaunched() {
        return launched;
    }

    /** Why the appliance was killed, or null. */
    public ErrorCode killedFor() {
        return killedFor;
    }

    /**
     * Kills the appliance from any thread without touching the handle: the
     * call blocked in it then fails within milliseconds. The handle is
     * unusable afterwards and must be closed.
     */
    public void kill(ErrorCode why, String reason) {
        if (closed) {
            return;
        }
        if (killedFor == null) {
            killReason = reason;
            killedFor = why;
        }
        // the watchdog kills from its own thread: the line still names the job
        try (org.slf4j.MDC.MDCCloseable ignored = org.slf4j.MDC.get("jobId") == null ? org.slf4j.MDC.putCloseable("jobId", id) : null) {
            LOG.warn("handle {}: killing appliance: {}", id, reason);
        }
        List<ProcessHandle> targets = new ArrayList<>();
        int known = pid;
        if (known > 0) {
            ProcessHandle.of(known).ifPresent(targets::add);
        } else {
            targets.addAll(HostInfo.processesMentioning(tmpDir.toString()));
        }
        targets.forEach(ProcessHandle::destroyForcibly);
    }

    /**
     * Turns a failed libguestfs call into a coded error: TIMEOUT (or whatever
     * the killer said) when this handle was killed, APPLIANCE_CRASHED when qemu
     * died by itself, OPERATION_FAILED otherwise.
     */
    public GuestflowException translate(Exception e) {
        if (e instanceof GuestflowException ge) {
            return ge;
        }
        if (killedFor != null) {
            return new GuestflowException(killedFor, killReason, e);
        }
        if (launched && pid > 0 && ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true)) {
            return new GuestflowException(ErrorCode.APPLIANCE_CRASHED, "appliance died: " + e.getMessage(), e);
        }
        return new GuestflowException(ErrorCode.OPERATION_FAILED, e.getMessage(), e);
    }

    /**
     * Shuts the appliance down and waits for qemu to exit, so every write has
     * reached the images. Operations that change disks call this before they
     * report success: a failed flush is a failed job, not a warning.
     */
    public void shutdown() {
        if (!launched || closed || killedFor != null) {
            return;
        }
        try {
            g.shutdown();
        } catch (LibGuestFSException e) {
            throw translate(e);
        }
    }

    /**
     * Shuts the appliance down (flushing writes) when it is healthy, closes the
     * handle, kills any qemu left and removes the handle's directory.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (launched && killedFor == null && isQemuAlive()) {
            try {
                g.shutdown();
            } catch (LibGuestFSException e) {
                LOG.debug("handle {}: shutdown failed: {}", id, e.getMessage());
            }
        }
        closeQuietly();
    }

    private boolean isQemuAlive() {
        return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private void closeQuietly() {
        closed = true;
        try {
            if (g != null) {
                g.close();
            }
        } catch (LibGuestFSException e) {
            LOG.debug("handle {}: close failed: {}", id, e.getMessage());
        }
        if (pid > 0) {
            ProcessHandle.of(pid).ifPresent(p -> {
                p.destroyForcibly();
                p.onExit().orTimeout(5, TimeUnit.SECONDS).exceptionally(t -> null).join();
            });
        }
        HostInfo.processesMentioning(tmpDir.toString()).forEach(ProcessHandle::destroyForcibly);
        deleteTmpDir();
    }

    private void deleteTmpDir() {
        try {
            if (ownerLock != null) {
                ownerLock.release();
            }
            if (ownerLockChannel != null) {
                ownerLockChannel.close();
            }
        } catch (IOException e) {
            LOG.debug("handle {}: cannot release its directory lock: {}", id, e.getMessage());
        }
        try {
            FileTrees.delete(tmpDir);
        } catch (IOException e) {
            LOG.debug("handle {}: cannot remove {}: {}", id, tmpDir, e.getMessage());
        }
    }

    private GuestEvent toEvent(long event, String buffer, long[] array) {
        GuestEvent.Kind kind = kindOf(event);
        long pos = 0;
        long total = 0;
        if (kind == GuestEvent.Kind.PROGRESS && array != null && array.length >= 4) {
            // progress array: proc_nr, serial, position, total
            pos = array[2];
            total = array[3];
        }
        String msg = buffer == null ? "" : buffer.strip();
        return new GuestEvent(id, kind, msg, pos, total);
    }

    static GuestEvent.Kind kindOf(long event) {
        if (event == GuestFS.EVENT_CLOSE) return GuestEvent.Kind.CLOSE;
        if (event == GuestFS.EVENT_SUBPROCESS_QUIT) return GuestEvent.Kind.SUBPROCESS_QUIT;
        if (event == GuestFS.EVENT_LAUNCH_DONE) return GuestEvent.Kind.LAUNCH_DONE;
        if (event == GuestFS.EVENT_PROGRESS) return GuestEvent.Kind.PROGRESS;
        if (event == GuestFS.EVENT_APPLIANCE) return GuestEvent.Kind.APPLIANCE;
        if (event == GuestFS.EVENT_LIBRARY) return GuestEvent.Kind.LIBRARY;
        if (event == GuestFS.EVENT_TRACE) return GuestEvent.Kind.TRACE;
        if (event == GuestFS.EVENT_ENTER) return GuestEvent.Kind.ENTER;
        if (event == GuestFS.EVENT_LIBVIRT_AUTH) return GuestEvent.Kind.LIBVIRT_AUTH;
        if (event == GuestFS.EVENT_WARNING) return GuestEvent.Kind.WARNING;
        return GuestEvent.Kind.UNKNOWN;
    }

    /** libguestfs identifiers show up in trace lines; keep them short and plain. */
    static String sanitizeIdentifier(String id) {
        String s = id == null ? "" : id.replaceAll("[^A-Za-z0-9_.-]", "_");
        return s.length() > 64 ? s.substring(0, 64) : s;
    }
}
