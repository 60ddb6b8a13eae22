package io.guestflow.pool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A remote disk (nbd, http(s), ssh) as this host opens it: through a local
 * qcow2 overlay in a private folder ({@code guestflow-remote-*}, 0700, deleted
 * when the last user closes it, swept at start like the other temporary
 * artifacts), whose backing file is a qemu {@code json:} pseudo-filename with
 * the protocol driver's options: for http(s) the curl driver's {@code url},
 * {@code timeout} ({@code guestflow.pool.remote-timeout-seconds}; qemu's own
 * 5 s fails reads of a loaded server, and the guest kernel then retries for
 * minutes) and a {@value #READAHEAD}-byte {@code readahead} (fewer, larger
 * requests); for nbd and ssh their structured server options. qemu, qemu-img
 * and libguestfs are only ever given the overlay's path.
 *
 * <p>The URL never appears on a command line: the overlay is created by
 * {@code qemu-img create -u} (which opens no backing file) with a backing
 * name of as many 'x's as the real name has bytes, and then the real name
 * is written over them in the overlay's header from Java; no part of the URL
 * (host, path, a pre-signed URL's token) is ever an argument. The overlays made here are remembered (path, file identity, backing
 * name): {@link ImageProbe} accepts a {@code json:} backing file only for
 * them, never in an image it did not create.
 *
 * <p>A remote disk is probed once while anyone holds it: {@code qemu-img info
 * --backing-chain} on the overlay opens the remote disk through the json
 * backing (reachable or REMOTE_UNREACHABLE, its virtual size); the jobs and
 * launches that {@link #open} or {@link #held} it while it is open share that
 * answer and the overlay (attached read-only, libguestfs adds its own
 * throw-away layer on top). A remote image in a format other than raw is read
 * through a raw node over its format node, with {@code "backing": null} unless
 * backing files are allowed, so that neither the probe nor qemu opens a file
 * its metadata names.
 */
public final class RemoteImage implements AutoCloseable {
    /** Bytes qemu's curl driver reads ahead of each request. */
    public static final int READAHEAD = 1 << 20;
    /** The prefix of the private folders (TempArtifacts sweeps {@code guestflow-remote-<digits>}). */
    public static final String DIR_PREFIX = "guestflow-remote-";
    /** qcow2 keeps backing file names of at most 1023 bytes. */
    private static final int MAX_BACKING_NAME = 1023;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration CREATE_TIMEOUT = Duration.ofSeconds(60);

    /** The remote disks open now, by URI and format. */
    private static final Map<String, RemoteImage> OPEN = new HashMap<>();
    /** Every overlay made here that is not deleted yet: its real path, and what it must still be. */
    private static final Map<Path, Made> MADE = new ConcurrentHashMap<>();

    private record Made(Object fileKey, String backing, Drive remote) {
    }

    private final String key;
    private final Drive remote;
    private final Path dir;
    private final FileChannel held;
    private final Path overlay;
    private final long virtualSize;
    private final JsonNode facts;
    private final String qemuImg;
    private final boolean allowBackingFiles;
    private final int timeoutSeconds;
    private int users = 1;

    private RemoteImage(String key, Drive remote, Path dir, FileChannel held, Path overlay, long virtualSize, JsonNode facts,
                        String qemuImg, boolean allowBackingFiles, int timeoutSeconds) {
        this.qemuImg = qemuImg;
        this.allowBackingFiles = allowBackingFiles;
        this.timeoutSeconds = timeoutSeconds;
        this.key = key;
        this.remote = remote;
        this.dir = dir;
        this.held = held;
        this.overlay = overlay;
        this.virtualSize = virtualSize;
        this.facts = facts;
    }

    private static String key(Drive remote) {
        return remote.uri().toString() + " " + remote.format();
    }

    /**
     * The remote disk, probed now unless someone holds it open already;
     * close it when done. The caller has checked host and format
     * ({@link ImageProbe#checkRemote}).
     */
    static RemoteImage open(ImageProbe probe, Drive remote, boolean allowBackingFiles, int timeoutSeconds) {
        RemoteImage known = held(remote);
        if (known != null) {
            return known;
        }
        RemoteImage made = probe(probe, remote, allowBackingFiles, timeoutSeconds);
        synchronized (OPEN) {
            RemoteImage raced = OPEN.get(made.key);
            if (raced == null) {
                OPEN.put(made.key, made);
                return made;
            }
            raced.users++;
        }
        made.delete();
        return held(remote);
    }

    /** The remote disk if someone holds it open (a job that checked it), one more user of it; else null. */
    public static RemoteImage held(Drive remote) {
        synchronized (OPEN) {
            RemoteImage r = OPEN.get(key(remote));
            if (r != null) {
                r.users++;
            }
            return r;
        }
    }

    /** The remote disk, as its URI names it (never printed: use {@link Drive#redact}). */
    public Drive remote() {
        return remote;
    }

    /** Its virtual size, as the probe read it. */
    public long virtualSize() {
        return virtualSize;
    }

    /** What {@code qemu-img info} said of the remote disk itself (the second element of the overlay's chain). */
    public JsonNode facts() {
        return facts;
    }

    /** The overlay's path. */
    public Path overlay() {
        return overlay;
    }

    /**
     * Another qcow2 overlay over the remote disk, at {@code path} (an
     * operation's own: writable, committed to the server, or a copy's), with
     * the same backing name as this one's and {@code clusterSize} (null:
     * qemu's default). The caller deletes it; {@link #forget} it then.
     */
    public void overlayAt(Path path, Integer clusterSize) {
        createOverlay(qemuImg, path, remote, virtualSize, clusterSize, allowBackingFiles, timeoutSeconds);
    }

    /** The drive to attach instead of the remote disk: the overlay, read-only, with the remote disk's label. */
    public Drive drive() {
        return new Drive(overlay.toUri(), "qcow2", true, remote.label());
    }

    @Override
    public void close() {
        synchronized (OPEN) {
            if (--users > 0) {
                return;
            }
            OPEN.remove(key, this);
        }
        delete();
    }

    private void delete() {
        forget(overlay);
        try {
            held.close();
            FileTrees.delete(dir);
        } catch (IOException ignored) {
            // swept at the next start (TempArtifacts)
        }
    }

    private static RemoteImage probe(ImageProbe probe, Drive remote, boolean allowBackingFiles, int timeoutSeconds) {
        Path dir = null;
        FileChannel held = null;
        try {
            dir = Files.createTempDirectory(DIR_PREFIX,
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            held = FileChannel.open(dir.resolve(".guestflow-held"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            Path probeFile = dir.resolve("probe.qcow2");
            createOverlay(probe.qemuImg(), probeFile, remote, 0, null, allowBackingFiles, timeoutSeconds);
            Subprocess.Result r = probe.runRemote(remote, List.of(probe.qemuImg(), "info", "-U", "--output=json",
                    "--backing-chain", "-f", "qcow2", probeFile.toString()));
            forget(probeFile);
            Files.delete(probeFile);
            if (r.exitCode() != 0) {
                throw new GuestflowException(ErrorCode.REMOTE_UNREACHABLE, "remote drive " + Drive.redact(remote.uri())
                        + " cannot be opened: " + Secrets.redact(lastLine(r.stderr())));
            }
            JsonNode chain = JSON.readTree(r.stdout());
            if (!chain.isArray() || chain.size() != 2) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, "remote drive " + Drive.redact(remote.uri())
                        + ": qemu-img opened " + (chain.isArray() ? chain.size() : 1) + " images for it, not 2; refused");
            }
            JsonNode facts = chain.get(1);
            long size = facts.path("virtual-size").asLong(-1);
            if (size < 0) {
                throw new GuestflowException(ErrorCode.REMOTE_UNREACHABLE, "remote drive " + Drive.redact(remote.uri())
                        + ": qemu-img told no size");
            }
            if (!allowBackingFiles && HEADER_FORMATS.contains(remote.format())) {
                refuseNamedFiles(probe, dir, remote, timeoutSeconds);
            }
            Path overlay = dir.resolve("disk.qcow2");
            createOverlay(probe.qemuImg(), overlay, remote, size, null, allowBackingFiles, timeoutSeconds);
            return new RemoteImage(key(remote), remote, dir, held, overlay, size, facts, probe.qemuImg(), allowBackingFiles,
                    timeoutSeconds);
        } catch (IOException | RuntimeException e) {
            if (dir != null) {
                try {
                    if (held != null) {
                        held.close();
                    }
                    try (var files = Files.list(dir)) {
                        files.forEach(RemoteImage::forget);
                    }
                    FileTrees.delete(dir);
                } catch (IOException ignored) {
                    // swept at the next start
                }
            }
            if (e instanceof IOException io) {
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot make the overlay of remote drive "
                        + Drive.redact(remote.uri()) + ": " + Secrets.redact(io.getMessage()), io);
            }
            throw (RuntimeException) e;
        }
    }

    /** Remote formats whose header is read here for the files it names (see {@link #refuseNamedFiles}). */
    private static final java.util.Set<String> HEADER_FORMATS = java.util.Set.of("qcow2", "qcow", "qed");

    /**
     * Refuses a remote qcow2, qcow or qed image whose header names a backing
     * file or (qcow2) an external data file. The overlays never open such a
     * file ({@code "backing": null}), so without this the guest would be read
     * silently without its backing image, and a data file would still be
     * opened on this host. The header's first {@link #HEADER_BYTES} (qcow2
     * keeps what it names within its first cluster, at most 2 MiB) are copied
     * as raw bytes through an overlay of their own, so no URL reaches a
     * command line here either, and read by {@link ImageHeaders} as a local
     * image's header is.
     */
    private static void refuseNamedFiles(ImageProbe probe, Path dir, Drive remote, int timeoutSeconds) throws IOException {
        Path headerOverlay = dir.resolve("header.qcow2");
        Path headerCopy = dir.resolve("header.raw");
        try {
            createOverlay(probe.qemuImg(), headerOverlay, remote.withFormat("raw"), HEADER_BYTES, null, false, timeoutSeconds);
            Subprocess.Result r = probe.runRemote(remote, List.of(probe.qemuImg(), "dd", "-f", "qcow2", "-O", "raw",
                    "bs=65536", "count=" + HEADER_BYTES / 65536, "if=" + headerOverlay, "of=" + headerCopy));
            if (r.exitCode() != 0) {
                throw new GuestflowException(ErrorCode.REMOTE_UNREACHABLE, "remote drive " + Drive.redact(remote.uri())
                        + ": its header cannot be read: " + Secrets.redact(lastLine(r.stderr())));
            }
            List<ImageHeaders.Ref> refs = ImageHeaders.read(headerCopy).refs();
            if (!refs.isEmpty()) {
                ImageHeaders.Ref ref = refs.get(0);
                throw new GuestflowException(ErrorCode.BACKING_FILE_REFUSED, "remote drive " + Drive.redact(remote.uri())
                        + " is a " + remote.format() + " image that names " + (ref.kind() == ImageHeaders.RefKind.BACKING
                        ? "a " : "an ") + ref.kind().label + ", which qemu would open on this host; refused"
                        + " (guestflow.pool.allow-backing-files)");
            }
        } finally {
            forget(headerOverlay);
            Files.deleteIfExists(headerOverlay);
            Files.deleteIfExists(headerCopy);
        }
    }

    /** How much of a remote image's start {@link #refuseNamedFiles} reads: qcow2's largest cluster. */
    private static final int HEADER_BYTES = 2 << 20;

    /**
     * Creates a qcow2 overlay at {@code overlay} backed by {@code remote}'s json
     * pseudo-filename, of {@code virtualSize} bytes (the remote disk's), with
     * {@code clusterSize} (null: qemu's default), and remembers it as made
     * here. Opens nothing over the network, and puts no URL on the command line.
     */
    static void createOverlay(String qemuImg, Path overlay, Drive remote, long virtualSize, Integer clusterSize,
                                     boolean allowBackingFiles, int timeoutSeconds) {
        String real = backingName(remote, allowBackingFiles, timeoutSeconds);
        byte[] realBytes = real.getBytes(StandardCharsets.UTF_8);
        String shown = placeholder(real);
        byte[] shownBytes = shown.getBytes(StandardCharsets.US_ASCII);
        if (realBytes.length > MAX_BACKING_NAME) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "remote drive " + Drive.redact(remote.uri())
                    + ": its URL is too long to be an overlay's backing file (" + realBytes.length + " bytes with its"
                    + " options, at most " + MAX_BACKING_NAME + ")");
        }
        List<String> cmd = new ArrayList<>(List.of(qemuImg, "create", "-q", "-f", "qcow2", "-u", "-F", "raw", "-b", shown));
        if (clusterSize != null) {
            cmd.addAll(List.of("-o", "cluster_size=" + clusterSize));
        }
        cmd.addAll(List.of(overlay.toString(), String.valueOf(virtualSize)));
        try {
            Subprocess.Result r = Subprocess.run(cmd, CREATE_TIMEOUT);
            if (r.exitCode() != 0) {
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, "qemu-img cannot create the overlay of remote"
                        + " drive " + Drive.redact(remote.uri()) + ": " + Secrets.redact(lastLine(r.stderr())));
            }
            try (FileChannel ch = FileChannel.open(overlay, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer head = ByteBuffer.allocate(20);
                ch.read(head, 0);
                long offset = head.getLong(8);
                int size = head.getInt(16);
                ByteBuffer there = ByteBuffer.allocate(size);
                ch.read(there, offset);
                if (size != shownBytes.length || !Arrays.equals(there.array(), shownBytes)) {
                    throw new GuestflowException(ErrorCode.OPERATION_FAILED, "the overlay of remote drive "
                            + Drive.redact(remote.uri()) + " does not hold the backing name qemu-img was given");
                }
                ch.write(ByteBuffer.wrap(realBytes), offset);
                ch.force(true);
            }
            Object fileKey = Files.readAttributes(overlay, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            MADE.put(overlay.toRealPath(), new Made(fileKey, real, remote));
        } catch (Subprocess.TimedOut e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "qemu-img create of a remote drive's overlay: "
                    + e.getMessage(), e);
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot create the overlay of remote drive "
                    + Drive.redact(remote.uri()) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestflowException(ErrorCode.POOL_CLOSED, "interrupted creating an overlay", e);
        }
    }

    /** An overlay made by {@link #createOverlay} is deleted (or about to be): no longer one of ours. */
    public static void forget(Path overlay) {
        try {
            MADE.remove(overlay.toRealPath());
        } catch (IOException e) {
            MADE.remove(overlay.toAbsolutePath().normalize());
        }
    }

    /**
     * The remote disk behind {@code overlayReal}'s backing name {@code backing},
     * when that overlay was made here with exactly that name and is still the
     * same file; null otherwise (a json backing name anywhere else is refused).
     */
    static Drive madeHere(Path overlayReal, String backing) {
        Made m = MADE.get(overlayReal);
        if (m == null || !m.backing().equals(backing)) {
            return null;
        }
        try {
            Object key = Files.readAttributes(overlayReal, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            return m.fileKey() != null && m.fileKey().equals(key) ? m.remote() : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** What {@code qemu-img create} is given instead of {@code backingName}: as many 'x's as it has bytes. */
    static String placeholder(String backingName) {
        return "x".repeat(backingName.getBytes(StandardCharsets.UTF_8).length);
    }

    /** The json pseudo-filename qemu opens {@code remote} by (an http(s) URL's query included). */
    static String backingName(Drive remote, boolean allowBackingFiles, int timeoutSeconds) {
        URI uri = ascii(remote.uri());
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        String user = uri.getRawUserInfo() == null ? null : uri.getUserInfo().split(":", 2)[0];
        String host = uri.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        ObjectNode proto = JSON.createObjectNode();
        switch (scheme) {
            case "http", "https" -> {
                String query = uri.getRawQuery();
                String h = uri.getHost();
                proto.put("driver", scheme);
                proto.put("url", scheme + "://" + (uri.getRawUserInfo() == null ? "" : uri.getRawUserInfo().split(":", 2)[0] + "@")
                        + h + (uri.getPort() > 0 ? ":" + uri.getPort() : "") + uri.getRawPath()
                        + (query == null ? "" : "?" + query));
                proto.put("timeout", timeoutSeconds);
                proto.put("readahead", READAHEAD);
            }
            case "nbd" -> {
                proto.put("driver", "nbd");
                ObjectNode server = proto.putObject("server");
                server.put("type", "inet");
                server.put("host", host);
                server.put("port", String.valueOf(uri.getPort() > 0 ? uri.getPort() : 10809));
                String export = uri.getPath();
                export = export.startsWith("/") ? export.substring(1) : export;
                if (!export.isEmpty()) {
                    proto.put("export", export);
                }
            }
            case "ssh" -> {
                proto.put("driver", "ssh");
                ObjectNode server = proto.putObject("server");
                server.put("host", host);
                server.put("port", String.valueOf(uri.getPort() > 0 ? uri.getPort() : 22));
                proto.put("path", uri.getPath());
                if (user != null) {
                    proto.put("user", user);
                }
            }
            default -> throw new GuestflowException(ErrorCode.INVALID_DRIVE, "not a remote drive: " + Drive.redact(uri));
        }
        ObjectNode top = JSON.createObjectNode();
        top.put("driver", "raw");
        if (remote.format().equals("raw")) {
            top.set("file", proto);
        } else {
            // a raw node over the format's: qemu-img info --backing-chain stops there instead of following names
            // in the remote image's metadata, and "backing": null keeps qemu from opening its backing file
            ObjectNode fmt = top.putObject("file");
            fmt.put("driver", remote.format());
            if (!allowBackingFiles) {
                fmt.putNull("backing");
            }
            fmt.set("file", proto);
        }
        return "json:" + top;
    }

    private static URI ascii(URI uri) {
        try {
            return new URI(uri.toASCIIString());
        } catch (URISyntaxException e) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "malformed disk URI " + Drive.redact(uri));
        }
    }

    private static String lastLine(String s) {
        String t = s.strip();
        int nl = t.lastIndexOf('\n');
        return nl < 0 ? t : t.substring(nl + 1);
    }
}
