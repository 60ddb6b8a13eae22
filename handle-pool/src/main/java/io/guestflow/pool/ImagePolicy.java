package io.guestflow.pool;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which local images the engine accepts (configuration:
 * {@code guestflow.pool.image-formats}, {@code guestflow.pool.max-image-size-gib},
 * {@code guestflow.pool.allow-backing-files}; the root is the engine's image root).
 *
 * <p>The allowlist names formats and, separately, the features of a format
 * that make qemu open other files. Whatever is allowed, every file an image
 * makes qemu open must be a regular file under {@link #root()}.
 *
 * @param allowed        tokens of {@link #TOKENS}
 * @param root           where referenced files must lie; null: the directory of the image that names them
 * @param maxVirtualSize largest guest-visible size accepted, in bytes; 0: no limit
 * @param remoteHosts    the hosts remote disks may name; empty: no remote disk
 */
public record ImagePolicy(Set<String> allowed, Path root, long maxVirtualSize, RemoteHosts remoteHosts) {

    /**
     * Every token: the formats, then features that are off unless listed.
     * vpc and vhdx are verified to reference nothing: qemu's vpc driver never
     * opens a parent (and differencing VHDs are refused here), its vhdx driver
     * refuses differencing images. {@code remote-images}: nbd/http(s)/ssh disks
     * in a format other than raw, whose metadata (a backing file, an extent)
     * could name a host file that qemu would open, unchecked.
     */
    public static final List<String> TOKENS = List.of("raw", "qcow2", "vmdk", "vdi", "vpc", "vhdx",
            "qcow2-data-file", "vmdk-descriptor", "remote-images");
    /** raw; qcow2 without an external data file; vmdk single-file (monolithicSparse, streamOptimized); vdi; vpc; vhdx. */
    public static final Set<String> DEFAULT_ALLOWED = Set.of("raw", "qcow2", "vmdk", "vdi", "vpc", "vhdx");
    public static final long DEFAULT_MAX_GIB = 16384;

    public ImagePolicy {
        allowed = Set.copyOf(allowed);
        for (String t : allowed) {
            if (!TOKENS.contains(t)) {
                throw new IllegalArgumentException("unknown image format or feature '" + t + "' (known: " + TOKENS + ")");
            }
        }
        if (maxVirtualSize < 0) {
            throw new IllegalArgumentException("the largest image size must be >= 0 (0: no limit)");
        }
        root = root == null ? null : root.toAbsolutePath().normalize();
        remoteHosts = remoteHosts == null ? RemoteHosts.none() : remoteHosts;
    }

    /** No remote disks. */
    public ImagePolicy(Set<String> allowed, Path root, long maxVirtualSize) {
        this(allowed, root, maxVirtualSize, RemoteHosts.none());
    }

    public static ImagePolicy defaults() {
        return new ImagePolicy(DEFAULT_ALLOWED, null, DEFAULT_MAX_GIB << 30);
    }

    /**
     * What an operation checks again on the images it builds over (overlays,
     * conversions): the default allowlist without a size limit. The configured
     * policy, size limit included, is applied to every job before (JobExecutor).
     */
    public static ImagePolicy forOperations() {
        return new ImagePolicy(DEFAULT_ALLOWED, null, 0);
    }

    /** A comma-separated token list, as the configuration writes it. */
    public static Set<String> parse(String csv) {
        Set<String> out = new LinkedHashSet<>();
        for (String s : csv.split(",")) {
            if (!s.isBlank()) {
                out.add(s.strip().toLowerCase(Locale.ROOT));
            }
        }
        return out;
    }

    public ImagePolicy withRoot(Path r) {
        return new ImagePolicy(allowed, r, maxVirtualSize, remoteHosts);
    }

    public ImagePolicy withAllowed(Set<String> tokens) {
        return new ImagePolicy(tokens, root, maxVirtualSize, remoteHosts);
    }

    public ImagePolicy withMaxVirtualSize(long bytes) {
        return new ImagePolicy(allowed, root, bytes, remoteHosts);
    }

    /** This policy with the remote hosts disks may name. */
    public ImagePolicy withRemoteHosts(RemoteHosts hosts) {
        return new ImagePolicy(allowed, root, maxVirtualSize, hosts);
    }

    public boolean allows(String token) {
        return allowed.contains(token);
    }

    /** The formats of the allowlist, for messages. */
    public List<String> formats() {
        return TOKENS.stream().filter(t -> !t.contains("-") && allowed.contains(t)).toList();
    }
}
