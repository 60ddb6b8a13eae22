package io.guestflow.pool;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One disk of a guest: where it is, its format, whether it is attached
 * read-only, and an optional label (libguestfs exposes it as
 * {@code /dev/disk/guestfs/LABEL}).
 *
 * <p>{@code file://} URIs (or plain paths) name local images; {@code nbd://},
 * {@code http(s)://} and {@code ssh://} name remote disks, which qemu opens
 * itself, but only ever through a local overlay ({@link RemoteImage}): the
 * URL is never handed to libguestfs or put on a command line.
 *
 * @param format    {@code null} means "detect with qemu-img before launch";
 *                  libguestfs always receives an explicit format.
 * @param discard   libguestfs's {@code discard} ({@code disable}, {@code enable},
 *                  {@code besteffort}); {@code null} leaves libguestfs's default
 * @param cachemode libguestfs's {@code cachemode} ({@code writeback}, {@code unsafe});
 *                  {@code null} leaves the default. {@code unsafe} is only for
 *                  throw-away overlays: writes are flushed when qemu exits, not before.
 */
public record Drive(URI uri, String format, boolean readOnly, String label, String discard, String cachemode) {

    /** Formats qemu can open that make sense as guest disks. */
    public static final Set<String> FORMATS =
            Set.of("raw", "qcow2", "qcow", "vmdk", "vdi", "vhdx", "vpc", "qed", "luks", "parallels", "dmg");

    private static final Set<String> SCHEMES = Set.of("file", "nbd", "http", "https", "ssh");
    /** libguestfs accepts only short alphabetic labels. */
    private static final Pattern LABEL = Pattern.compile("[a-zA-Z]{1,20}");

    /** A URI or path as it may appear in messages: userinfo and query masked ({@link Secrets#redact}). */
    public static String redact(Object uriOrPath) {
        return uriOrPath == null ? "null" : Secrets.redact(uriOrPath.toString());
    }

    private static final Set<String> DISCARD = Set.of("disable", "enable", "besteffort");
    private static final Set<String> CACHEMODES = Set.of("writeback", "unsafe");

    /** A drive with libguestfs's default discard and cache mode. */
    public Drive(URI uri, String format, boolean readOnly, String label) {
        this(uri, format, readOnly, label, null, null);
    }

    public Drive {
        if (discard != null && !DISCARD.contains(discard)) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "unknown discard mode '" + discard + "' (known: " + DISCARD + ")");
        }
        if (cachemode != null && !CACHEMODES.contains(cachemode)) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "unknown cache mode '" + cachemode + "' (known: " + CACHEMODES + ")");
        }
        if (uri == null) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "drive has no URI");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!SCHEMES.contains(scheme)) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE,
                    "unsupported URI scheme '" + scheme + "' in " + redact(uri) + " (supported: " + SCHEMES + ")");
        }
        if (uri.getPath() == null || uri.getPath().isEmpty()) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "URI " + redact(uri) + " names no path or export");
        }
        if (Secrets.hasPassword(uri)) {
            // libguestfs's direct backend writes every credential it is given into qemu's command line
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "URI " + redact(uri) + " carries a password;"
                    + " passwords never go to qemu (libguestfs would put them on its command line, visible in ps):"
                    + " give the user name alone and let the server trust this host (ssh keys, nbd TLS)");
        }
        if (scheme.equals("file")) {
            checkFileUri(uri);
        }
        if (!scheme.equals("file") && (uri.getHost() == null || uri.getHost().isEmpty())) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "URI " + redact(uri) + " names no host");
        }
        if (format != null) {
            format = format.toLowerCase(Locale.ROOT);
            if (!FORMATS.contains(format)) {
                throw new GuestflowException(ErrorCode.INVALID_DRIVE,
                        "unknown disk format '" + format + "' (known: " + FORMATS + ")");
            }
        }
        if (label != null && !LABEL.matcher(label).matches()) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE,
                    "drive label '" + label + "' must be 1-20 ASCII letters");
        }
    }

    /**
     * A {@code file://} URI names one local path and nothing else: no host
     * ({@code file://host/x}), no query, no fragment, no NUL byte.
     */
    private static void checkFileUri(URI uri) {
        if (uri.getRawAuthority() != null) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "file URI " + redact(uri)
                    + " names a host (" + redact(uri.getRawAuthority()) + "); local images are file:///path");
        }
        if (uri.getRawQuery() != null) {
            // the query itself is not repeated: it may hold a token
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "file URI " + redact(uri)
                    + " has a query; a local image is a path only");
        }
        if (uri.getRawFragment() != null) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "file URI " + redact(uri)
                    + " has a fragment; a local image is a path only");
        }
        if (uri.getPath() != null && uri.getPath().indexOf('\0') >= 0) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "file URI " + redact(uri) + " has a NUL byte in its path");
        }
        try {
            Path.of(uri);
        } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "file URI " + redact(uri) + " is not a local path: "
                    + e.getMessage());
        }
    }

    /** A drive from a URI or a plain local path, format detected later, read-only. */
    public static Drive of(String uriOrPath) {
        return new Drive(parseUri(uriOrPath), null, true, null);
    }

    public static URI parseUri(String uriOrPath) {
        if (uriOrPath == null || uriOrPath.isBlank()) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "empty disk URI");
        }
        if (!uriOrPath.contains("://")) {
            if (uriOrPath.indexOf('\0') >= 0) {
                throw new GuestflowException(ErrorCode.INVALID_DRIVE, "path has a NUL byte");
            }
            try {
                return Path.of(uriOrPath).toAbsolutePath().normalize().toUri();
            } catch (java.nio.file.InvalidPathException e) {
                throw new GuestflowException(ErrorCode.INVALID_DRIVE, "invalid path '" + redact(uriOrPath) + "': " + e.getReason());
            }
        }
        try {
            return new URI(uriOrPath);
        } catch (URISyntaxException e) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE, "malformed disk URI '" + redact(uriOrPath) + "': " + e.getReason());
        }
    }

    public Drive withFormat(String newFormat) {
        return new Drive(uri, newFormat, readOnly, label, discard, cachemode);
    }

    public Drive withReadOnly(boolean ro) {
        return new Drive(uri, format, ro, label, discard, cachemode);
    }

    public Drive withLabel(String newLabel) {
        return new Drive(uri, format, readOnly, newLabel, discard, cachemode);
    }

    /** This drive with libguestfs's {@code discard} mode (trim requests reach the image as holes). */
    public Drive withDiscard(String mode) {
        return new Drive(uri, format, readOnly, label, mode, cachemode);
    }

    /** This drive with libguestfs's {@code cachemode}. */
    public Drive withCachemode(String mode) {
        return new Drive(uri, format, readOnly, label, discard, mode);
    }

    public boolean isLocal() {
        return "file".equalsIgnoreCase(uri.getScheme());
    }

    /** The local path of a {@code file://} drive. */
    public Path path() {
        if (!isLocal()) {
            throw new IllegalStateException(redact(uri) + " is not a local file");
        }
        return Path.of(uri);
    }

    /** The filename argument of {@code add_drive_opts}: a local path (a remote disk is attached as its overlay). */
    public String filename() {
        return path().toString();
    }

    /**
     * The optional arguments of {@code add_drive_opts}. The format must be
     * known by now: qemu is never left to probe it.
     */
    public Map<String, Object> addDriveOptions() {
        if (!isLocal()) {
            // libguestfs would put the URL, query and all, on qemu's command line
            throw new IllegalStateException(redact(uri) + " is remote: it is attached as its local overlay (RemoteImage)");
        }
        if (format == null) {
            throw new IllegalStateException("format of " + redact(uri) + " not resolved before launch");
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("format", format);
        o.put("readonly", readOnly);
        if (label != null) {
            o.put("label", label);
        }
        if (discard != null) {
            o.put("discard", discard);
        }
        if (cachemode != null) {
            o.put("cachemode", cachemode);
        }
        return o;
    }

    @Override
    public String toString() {
        // never print credentials that a URI might carry
        return redact(uri) + (format == null ? "" : " (" + format + (readOnly ? ", ro" : ", rw") + ")");
    }
}
