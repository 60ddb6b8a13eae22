package io.guestflow.pool;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Typed settings of the handle pool. {@link #defaults()} gives the values
 * documented in {@code config/application.properties}.
 *
 * @param maxAppliances     appliances running at once; 0 derives it from cores and free memory
 * @param memsizeMb         appliance memory; 0 keeps libguestfs's default
 * @param smp               appliance vCPUs
 * @param acceleration      auto (probe once per process), kvm or tcg
 * @param launchTimeout     a launch that takes longer is killed (LAUNCH_TIMEOUT)
 * @param leaseTimeout      how long a caller waits for a free slot (POOL_EXHAUSTED)
 * @param shutdownGrace     how long shutdown waits for running work before killing it
 * @param cacheDir          libguestfs appliance cache; null keeps libguestfs's default
 * @param tmpDir            parent of each handle's private temporary directory
 * @param allowBackingFiles accept images with backing files (off: they could read other host files)
 * @param verbose           appliance and library debug messages (many events)
 * @param trace             libguestfs call trace events
 * @param images            the image allowlist and size limit (its root is set by the engine: the image root)
 */
public record PoolConfig(int maxAppliances, int memsizeMb, int smp, Acceleration acceleration,
                         Duration launchTimeout, Duration leaseTimeout, Duration shutdownGrace,
                         Path cacheDir, Path tmpDir, boolean allowBackingFiles, boolean verbose, boolean trace,
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
    }

    public static PoolConfig defaults() {
        return new PoolConfig(0, 0, 1, Acceleration.AUTO, Duration.ofMinutes(5), Duration.ofMinutes(10),
                Duration.ofSeconds(30), null, null, false, false, false, ImagePolicy.defaults());
    }

    /** Prefix of the pool's keys in {@code application.properties}. */
    public static final String PREFIX = "guestflow.pool.";

    /**
     * Reads the pool's keys ({@code guestflow.pool.*}) from properties; keys
     * not given keep their defaults. An environment variable named like the
     * key in upper case with dots and dashes as underscores
     * ({@code GUESTFLOW_POOL_ACCELERATION}) overrides the property.
     */
    public static PoolConfig fromProperties(java.util.Map<String, String> props, java.util.Map<String, String> env) {
        PoolConfig d = defaults();
        java.util.function.Function<String, String> get = key -> {
            String envName = (PREFIX + key).toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_');
            String v = env.get(envName);
            if (v == null) {
                v = props.get(PREFIX + key);
            }
            return v == null || v.isBlank() ? null : v.trim();
        };
        try {
            return new PoolConfig(
                    intOr(get.apply("max-appliances"), d.maxAppliances()),
                    intOr(get.apply("memsize-mb"), d.memsizeMb()),
                    intOr(get.apply("smp"), d.smp()),
                    get.apply("acceleration") == null ? d.acceleration() : Acceleration.parse(get.apply("acceleration")),
                    secondsOr(get.apply("launch-timeout-seconds"), d.launchTimeout()),
                    secondsOr(get.apply("lease-timeout-seconds"), d.leaseTimeout()),
                    secondsOr(get.apply("shutdown-grace-seconds"), d.shutdownGrace()),
                    get.apply("cache-dir") == null ? d.cacheDir() : Path.of(get.apply("cache-dir")),
                    get.apply("tmp-dir") == null ? d.tmpDir() : Path.of(get.apply("tmp-dir")),
                    boolOr(get.apply("allow-backing-files"), d.allowBackingFiles()),
                    boolOr(get.apply("verbose"), d.verbose()),
                    boolOr(get.apply("trace"), d.trace()),
                    new ImagePolicy(get.apply("image-formats") == null ? d.images().allowed()
                            : ImagePolicy.parse(get.apply("image-formats")), null,
                            get.apply("max-image-size-gib") == null ? d.images().maxVirtualSize()
                                    : Math.multiplyExact(Long.parseLong(get.apply("max-image-size-gib")), 1L << 30)));
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("bad number in " + PREFIX + "* settings: " + e.getMessage(), e);
        }
    }

    private static int intOr(String v, int dflt) {
        return v == null ? dflt : Integer.parseInt(v);
    }

    private static Duration secondsOr(String v, Duration dflt) {
        return v == null ? dflt : Duration.ofSeconds(Long.parseLong(v));
    }

    private static boolean boolOr(String v, boolean dflt) {
        if (v == null) {
            return dflt;
        }
        if (!v.equalsIgnoreCase("true") && !v.equalsIgnoreCase("false")) {
            throw new IllegalArgumentException("expected true or false, not '" + v + "'");
        }
        return Boolean.parseBoolean(v);
    }

    public PoolConfig withMaxAppliances(int n) {
        return new PoolConfig(n, memsizeMb, smp, acceleration, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    public PoolConfig withAcceleration(Acceleration a) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, a, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    public PoolConfig withLeaseTimeout(Duration d) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, launchTimeout, d, shutdownGrace,
                cacheDir, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    public PoolConfig withLaunchTimeout(Duration d) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, d, leaseTimeout, shutdownGrace,
                cacheDir, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    public PoolConfig withShutdownGrace(Duration d) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, launchTimeout, leaseTimeout, d,
                cacheDir, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    public PoolConfig withMemsizeMb(int mb) {
        return new PoolConfig(maxAppliances, mb, smp, acceleration, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, tmpDir, allowBackingFiles, verbose, trace, images);
    }

    public PoolConfig withAllowBackingFiles(boolean allow) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, tmpDir, allow, verbose, trace, images);
    }

    public PoolConfig withDebug(boolean verboseOn, boolean traceOn) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, tmpDir, allowBackingFiles, verboseOn, traceOn, images);
    }

    /** This configuration with another image allowlist and size limit. */
    public PoolConfig withImages(ImagePolicy p) {
        return new PoolConfig(maxAppliances, memsizeMb, smp, acceleration, launchTimeout, leaseTimeout, shutdownGrace,
                cacheDir, tmpDir, allowBackingFiles, verbose, trace, p);
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
        long perAppliance = (memsizeMb > 0 ? memsizeMb : LIBGUESTFS_DEFAULT_MEMSIZE_MB) + APPLIANCE_OVERHEAD_MB;
        long available = HostInfo.memAvailableMb();
        long byMemory = available <= 0 ? cores : (available - HOST_RESERVE_MB) / perAppliance;
        return (int) Math.max(1, Math.min(cores, byMemory));
    }
}
