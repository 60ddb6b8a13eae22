package io.guestflow.pool;

import io.guestflow.settings.Catalog;
import io.guestflow.settings.Configuration;
import io.guestflow.settings.Setting;
import io.guestflow.settings.SettingGroup;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Typed settings of the handle pool, each declared once below ({@link #SETTINGS}):
 * key, type, default, description and rules. {@link #defaults()} gives the
 * declared defaults.
 *
 * @param maxAppliances     appliances running at once; 0 derives it from cores and free memory
 * @param memsizeMb         appliance memory; 0 keeps libguestfs's default
 * @param smp               appliance vCPUs
 * @param acceleration      auto (probe once per process), kvm or tcg
 * @param launchTimeout     a launch that takes longer is killed (LAUNCH_TIMEOUT)
 * @param leaseTimeout      how long a caller waits for a free slot (POOL_EXHAUSTED)
 * @param shutdownGrace     how long shutdown waits for running work before killing it
 * @param cacheDir          libguestfs appliance cache; null keeps libguestfs's default
 * @param appliance         the supermin appliance, or a fixed one built once per machine
 * @param tmpDir            parent of each handle's private temporary directory
 * @param allowBackingFiles accept images with backing files (off: they could read other host files)
 * @param verbose           appliance and library debug messages (many events)
 * @param trace             libguestfs call trace events
 * @param images            the image allowlist and size limit (its root is set by the engine: the image root)
 */
public record PoolConfig(int maxAppliances, int memsizeMb, int smp, Acceleration acceleration,
                         Duration launchTimeout, Duration leaseTimeout, Duration shutdownGrace,
                         Path cacheDir, ApplianceKind appliance, Path tmpDir, boolean allowBackingFiles, boolean verbose, boolean trace,
                         ImagePolicy images) {

    public PoolConfig {
        if (maxAppliances < 0 || memsizeMb < 0 || smp < 1) {
            throw new IllegalArgumentException("maxAppliances and memsizeMb must be >= 0, smp >= 1");
        }
        if (tmpDir == null) {
            tmpDir = Path.of(System.getProperty("java.io.tmpdir"), "guestflow");
        }
        if (images == null) {
            images = ImagePolicy.defaults();
        }
        if (appliance == null) {
            appliance = ApplianceKind.FIXED;
        }
    }

    /** Prefix of the pool's keys in {@code application.properties}. */
    public static final String PREFIX = "guestflow.pool.";

    public static final Setting<Integer> MAX_APPLIANCES = Setting.of(PREFIX + "max-appliances", Setting.INTEGER)
            .withDefault("0").must(Setting.atLeast(0), ">= 0")
            .withDescription("Appliances running at once. 0: one per core, fewer when free memory"
                    + " (MemAvailable - 1 GiB, at memsize + 256 MiB each) cannot hold them. In a container, set it:"
                    + " cores and memory are the host's, not the container's limits.");
    public static final Setting<Integer> MEMSIZE_MB = Setting.of(PREFIX + "memsize-mb", Setting.INTEGER)
            .withDefault("0").must(Setting.atLeast(0), ">= 0")
            .withDescription("Appliance memory in MiB. 0 keeps libguestfs's default (1280).");
    public static final Setting<Integer> SMP = Setting.of(PREFIX + "smp", Setting.INTEGER)
            .withDefault("1").must(Setting.atLeast(1), ">= 1")
            .withDescription("Appliance vCPUs.");
    public static final Setting<Acceleration> ACCELERATION = Setting.of(PREFIX + "acceleration",
                    Setting.type("auto | kvm | tcg", Acceleration::parse))
            .withDefault("auto")
            .withDescription("auto: a test launch with KVM once per process decides; hosts where KVM is missing"
                    + " or broken (qemu aborts) get TCG. kvm / tcg force one.");
    public static final Setting<Duration> LAUNCH_TIMEOUT = Setting.of(PREFIX + "launch-timeout-seconds", Setting.SECONDS)
            .withDefault("300").must(d -> !d.isNegative() && !d.isZero(), "> 0")
            .withDescription("A launch taking longer is killed and fails with LAUNCH_TIMEOUT (retryable). The first"
                    + " launch on a machine also builds the appliance (a minute or two).");
    public static final Setting<Duration> LEASE_TIMEOUT = Setting.of(PREFIX + "lease-timeout-seconds", Setting.SECONDS)
            .withDefault("600").must(d -> !d.isNegative(), ">= 0")
            .withDescription("How long a job waits for a free appliance slot before POOL_EXHAUSTED.");
    public static final Setting<Duration> SHUTDOWN_GRACE = Setting.of(PREFIX + "shutdown-grace-seconds", Setting.SECONDS)
            .withDefault("30").must(d -> !d.isNegative(), ">= 0")
            .withDescription("On shutdown, running jobs get this long before their appliances are killed. A"
                    + " container's stop grace period (docker compose stop_grace_period, Kubernetes"
                    + " terminationGracePeriodSeconds) must be longer.");
    public static final Setting<Path> CACHE_DIR = Setting.of(PREFIX + "cache-dir", Setting.PATH)
            .withDescription("libguestfs appliance cache. Empty: libguestfs's default (/var/tmp).");
    public static final Setting<ApplianceKind> APPLIANCE = Setting.of(PREFIX + "appliance",
                    Setting.choice(ApplianceKind.class))
            .withDefault("fixed")
            .withDescription("The appliance handles boot. fixed: a fixed appliance built once per machine and"
                    + " libguestfs version (about 15 s and 700 MB, on first use) under cache-dir, else ~/.cache/guestflow,"
                    + " in fixed-appliance/, holding only the Augeas lenses inspection loads (fstab, mdadm.conf,"
                    + " sysconfig/network and what they import): inspect_os saves about 3 s per Linux root under TCG."
                    + " After a host package update, delete that folder to rebuild it. fixed-all-lenses: the same with"
                    + " every lens. supermin: libguestfs's own appliance, which supermin checks against the host's"
                    + " packages before every launch.");
    public static final Setting<Path> TMP_DIR = Setting.of(PREFIX + "tmp-dir", Setting.PATH)
            .withDescription("Parent of each handle's private temporary directory. Empty: $TMPDIR/guestflow.");
    public static final Setting<Boolean> ALLOW_BACKING_FILES = Setting.of(PREFIX + "allow-backing-files", Setting.BOOLEAN)
            .withDefault("false")
            .withDescription("Images with a backing file are refused: a crafted qcow2 could otherwise make the"
                    + " appliance open any file on the host. true: backing chains are followed, and every file of the"
                    + " chain must still be a regular file under the image root.");
    public static final Setting<java.util.Set<String>> IMAGE_FORMATS = Setting.of(PREFIX + "image-formats",
                    Setting.type("list of formats and features", ImagePolicy::parse))
            .withDefault("raw,qcow2,vmdk,vdi,vpc,vhdx")
            .withDescription("Image allowlist: the formats accepted for local disks, and the features that make qemu"
                    + " open other files (off unless listed). Every file an image names (backing files, qcow2 data"
                    + " files, VMDK extents) must be a regular file under the image root (never a FIFO, socket, device"
                    + " or directory), and is checked from the image's header before qemu-img opens anything."
                    + " Formats: raw, qcow2 (without an external data file), vmdk (single-file: monolithicSparse,"
                    + " streamOptimized), vdi (dynamic, static), vpc (fixed, dynamic; differencing VHDs are refused),"
                    + " vhdx (qemu refuses differencing ones). Features: qcow2-data-file (qcow2 images with an"
                    + " external data file), vmdk-descriptor (VMDK descriptors whose extents are other files),"
                    + " remote-images (nbd/http(s)/ssh disks in a format other than raw: their metadata, a backing"
                    + " file /etc/shadow, cannot be checked before qemu opens it, so without this token remote disks"
                    + " must be raw).");
    public static final Setting<RemoteHosts> REMOTE_HOSTS = Setting.of(PREFIX + "remote-hosts",
                    Setting.type("list of host or host:port", RemoteHosts::parse))
            .withDefault("")
            .withDescription("The remote hosts that disk URIs (nbd://, http(s)://, ssh://) may name, as host or"
                    + " host:port, IPv6 addresses in brackets ([fd00::5]:10809); a URI without a port is at its"
                    + " scheme's default port. Names are compared in lower case without a trailing dot, and never"
                    + " looked up (localhost and 127.0.0.1 are different entries). A job naming any other host is"
                    + " REJECTED (REMOTE_HOST_REFUSED) before anything opens it. Empty: no remote disks.");
    public static final Setting<Boolean> REMOTE_WRITES = Setting.of(PREFIX + "remote-writes", Setting.BOOLEAN)
            .withDefault("false")
            .withDescription("Whether jobs may change remote disks in place (sysprep, in-place sparsify, pipeline steps"
                    + " that write) on the hosts of remote-hosts. The work runs on a local qcow2 overlay backed by the"
                    + " remote disk and is committed to the server (qemu-img commit) only when all of it succeeded; a"
                    + " failed or killed job leaves the remote disk as it was. nbd:// and ssh:// disks only: http(s)"
                    + " disks stay read-only (qemu's curl driver cannot write). false: such jobs are REJECTED before"
                    + " anything opens the disk.");
    public static final Setting<Integer> REMOTE_TIMEOUT_SECONDS = Setting.of(PREFIX + "remote-timeout-seconds",
                    Setting.INTEGER)
            .withDefault(String.valueOf(RemoteHosts.DEFAULT_TIMEOUT_SECONDS))
            .must(v -> v >= 1 && v <= 3600, "between 1 and 3600")
            .withDescription("How long qemu waits for one request to an http(s) disk before it fails the read (its"
                    + " curl driver's timeout; qemu's own default is 5 s, which a loaded server or host misses, and a"
                    + " failed read makes the guest kernel retry for minutes). Remote disks are read through a local"
                    + " overlay whose backing names the URL with this timeout and a 1 MiB readahead, so the URL and its"
                    + " query never appear on a command line.");
    public static final Setting<Long> MAX_IMAGE_SIZE_GIB = Setting.of(PREFIX + "max-image-size-gib", Setting.LONG)
            .withDefault("16384").must(v -> v >= 0 && v <= (Long.MAX_VALUE >> 30), ">= 0")
            .withDescription("Largest virtual size accepted, in GiB (sparse giants are refused). 0: no limit.");
    public static final Setting<Boolean> VERBOSE = Setting.of(PREFIX + "verbose", Setting.BOOLEAN)
            .withDefault("false")
            .withDescription("Appliance and library debug messages published on the log topic for every job"
                    + " (otherwise only for jobs with \"debug\": true, which guestflow.engine.allow-debug-jobs must"
                    + " allow). They name drives and hold qemu's command line.");
    public static final Setting<Boolean> TRACE = Setting.of(PREFIX + "trace", Setting.BOOLEAN)
            .withDefault("false")
            .withDescription("The libguestfs call trace and call entries published on the log topic for every job"
                    + " (otherwise only for jobs with \"debug\": true, which guestflow.engine.allow-debug-jobs must"
                    + " allow). They name drives and hold qemu's command line.");

    /** The pool's settings, as documented. */
    public static final SettingGroup SETTINGS = new SettingGroup("handle pool (libguestfs appliances)", "",
            List.of(MAX_APPLIANCES, MEMSIZE_MB, SMP, ACCELERATION, LAUNCH_TIMEOUT, LEASE_TIMEOUT, SHUTDOWN_GRACE,
                    CACHE_DIR, APPLIANCE, TMP_DIR, ALLOW_BACKING_FILES, IMAGE_FORMATS, REMOTE_HOSTS, REMOTE_WRITES,
                    REMOTE_TIMEOUT_SECONDS, MAX_IMAGE_SIZE_GIB, VERBOSE, TRACE));

    private static final Catalog CATALOG = new Catalog(List.of(), List.of(SETTINGS), List.of());

    /** The declared defaults. */
    public static PoolConfig defaults() {
        return from(Configuration.defaults(CATALOG));
    }

    /** The pool's settings from a configuration that declares them. */
    public static PoolConfig from(Configuration c) {
        return new PoolConfig(c.get(MAX_APPLIANCES), c.get(MEMSIZE_MB), c.get(SMP), c.get(ACCELERATION),
                c.get(LAUNCH_TIMEOUT), c.get(LEASE_TIMEOUT), c.get(SHUTDOWN_GRACE), c.get(CACHE_DIR), c.get(APPLIANCE), c.get(TMP_DIR),
                c.get(ALLOW_BACKING_FILES), c.get(VERBOSE), c.get(TRACE),
                new ImagePolicy(c.get(IMAGE_FORMATS), null, c.get(MAX_IMAGE_SIZE_GIB) << 30,
                        java.util.Objects.requireNonNullElse(c.get(REMOTE_HOSTS), RemoteHosts.none())
                                .withWrites(c.get(REMOTE_WRITES)).withTimeoutSeconds(c.get(REMOTE_TIMEOUT_SECONDS))));
    }

    /**
     * The pool's keys ({@code guestflow.pool.*}) from properties, their
     * variables ({@code GUESTFLOW_POOL_ACCELERATION}) overriding them; keys of
     * other parts are left to their readers. Keys not given keep their defaults.
     */
    public static PoolConfig fromProperties(Map<String, String> props, Map<String, String> env) {
        Map<String, String> mine = new java.util.HashMap<>();
        props.forEach((k, v) -> {
            if (k.startsWith(PREFIX)) {
                mine.put(k, v);
            }
        });
        return from(Configuration.load(CATALOG, mine, "properties", env));
    }

    /**
     * Host memory (MiB) that {@code appliances} appliances need at once, with
     * the JVM, broker and OS reserve: the sizing rule of {@link #effectiveMaxAppliances()}.
     */
    public long hostMemoryMb(int appliances) {
        return HOST_RESERVE_MB + (long) appliances * applianceMemoryMb();
    }

    /** Host memory one appliance takes: its guest RAM plus qemu's own. */
    public long applianceMemoryMb() {
        return (memsizeMb > 0 ? memsizeMb : LIBGUESTFS_DEFAULT_MEMSIZE_MB) + APPLIANCE_OVERHEAD_MB;
    }

    public PoolConfig withMaxAppliances(int n) {
        return new PoolConfig(n, memsizeMb, smp, acceleration, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, appliance, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    public PoolConfig withAcceleration(Acceleration a) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, a, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, appliance, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    public PoolConfig withLeaseTimeout(Duration d) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, launchTimeout, d, shutdownGrace,
                cacheDir, appliance, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    public PoolConfig withLaunchTimeout(Duration d) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, d, leaseTimeout, shutdownGrace,
                cacheDir, appliance, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    public PoolConfig withShutdownGrace(Duration d) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, launchTimeout, leaseTimeout, d,
                cacheDir, appliance, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    public PoolConfig withMemsizeMb(int mb) {
        return new PoolConfig(maxAppliances, mb, smp, acceleration, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, appliance, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    public PoolConfig withAllowBackingFiles(boolean allow) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, appliance, tmpDir, allow, verbose, trace, images);
    }

    public PoolConfig withDebug(boolean verboseOn, boolean traceOn) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, appliance, tmpDir, allowBackingFiles, verboseOn, traceOn, images);
    }

    public PoolConfig withAppliance(ApplianceKind a) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, a, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    /** This configuration with another image allowlist and size limit. */
    public PoolConfig withImages(ImagePolicy p) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, appliance, tmpDir, allowBackingFiles, verbose, trace, p);
    }

    /** The libguestfs default appliance memory, used for sizing when memsizeMb is 0. */
    static final int LIBGUESTFS_DEFAULT_MEMSIZE_MB = 1280;
    /** Host memory one appliance costs beyond its guest RAM (qemu itself, caches). */
    static final int APPLIANCE_OVERHEAD_MB = 256;
    /** Host memory left for the JVM, the broker and the OS. */
    static final long HOST_RESERVE_MB = 1024;

    /** maxAppliances, or when 0: one per core, fewer if free memory cannot hold them. */
    public int effectiveMaxAppliances() {
        if (maxAppliances > 0) {
            return maxAppliances;
        }
        int cores = Runtime.getRuntime().availableProcessors();
        long perAppliance = applianceMemoryMb();
        long available = HostInfo.memAvailableMb();
        long byMemory = available <= 0 ? cores : (available - HOST_RESERVE_MB) / perAppliance;
        return (int) Math.max(1, Math.min(cores, byMemory));
    }
}
