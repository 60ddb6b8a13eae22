package io.guestflow.pool;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code qemu-img info} and {@code qemu-img check} say of a local image,
 * without any appliance: format, sizes, cluster size, snapshots, the dirty
 * and corrupt flags, the consistency check, and the backing chain as far as
 * policy allows. The chain is walked one image at a time ({@code qemu-img
 * info} never opens a backing file itself), so a backing file is only opened
 * once it is known to be allowed. Every call runs under a deadline
 * ({@link Subprocess}); the image is never written.
 */
public final class ImageFacts {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Deeper chains are not followed. */
    public static final int MAX_CHAIN = 16;
    /** qemu-img check's exit codes. */
    private static final int CHECK_CORRUPT = 2;
    private static final int CHECK_LEAKS = 3;
    private static final int CHECK_UNSUPPORTED = 63;

    private final String qemuImg;
    private final Duration timeout;

    public ImageFacts(Duration timeout) {
        this("qemu-img", timeout);
    }

    public ImageFacts(String qemuImg, Duration timeout) {
        this.qemuImg = qemuImg;
        this.timeout = timeout;
    }

    /** One disk's facts (sizes in bytes). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Disk(String path, String format, long virtualSize, long allocatedSize, Long clusterSize,
                       Boolean dirty, Boolean corrupt, Boolean encrypted, String compat, String backingFile,
                       List<Snapshot> snapshots, Check check, List<Backing> backingChain, String backingChainNote) {
    }

    /** An internal snapshot. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Snapshot(String id, String name, String date, long vmStateSize) {
    }

    /**
     * {@code qemu-img check}: {@code clean}, {@code leaks} (harmless for reading),
     * {@code corrupt}, {@code error} (the check could not complete) or
     * {@code unsupported} (the format has no check, raw among them).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Check(String result, Long corruptions, Long leaks, Long checkErrors, String message) {
    }

    /** A backing image below the disk, nearest first. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Backing(String path, String format, long virtualSize, long allocatedSize, String backingFile) {
    }

    /**
     * Facts of {@code path}.
     *
     * @param declaredFormat when given, it must be the detected format (FORMAT_MISMATCH otherwise)
     * @param followBacking  whether backing files may be opened: off, the chain is named, not followed
     * @param allowedRoot    when following, each backing file must resolve under it (null: anywhere)
     * @param withCheck      run {@code qemu-img check} too (reads all metadata)
     */
    public Disk of(Path path, String declaredFormat, boolean followBacking, Path allowedRoot, boolean withCheck) {
        ImageProbe.checkFile(path);
        JsonNode top = info(path, null);
        String format = top.path("format").asText();
        if (declaredFormat != null && !declaredFormat.equals(format)) {
            throw new GuestflowException(ErrorCode.FORMAT_MISMATCH,
                    path + ": declared format " + declaredFormat + " does not match the file (content is " + format + ")");
        }
        JsonNode spec = top.path("format-specific").path("data");
        List<Snapshot> snapshots = new ArrayList<>();
        for (JsonNode s : top.path("snapshots")) {
            snapshots.add(new Snapshot(s.path("id").asText(), s.path("name").asText(),
                    Instant.ofEpochSecond(s.path("date-sec").asLong(), s.path("date-nsec").asLong()).toString(),
                    s.path("vm-state-size").asLong()));
        }
        String backing = text(top, "backing-filename");
        List<Backing> chain = new ArrayList<>();
        String note = null;
        if (backing != null) {
            note = followBacking ? walk(path, top, chain, allowedRoot)
                    : "backing files are not opened (guestflow.pool.allow-backing-files=false)";
        }
        return new Disk(path.toString(), format, top.path("virtual-size").asLong(), top.path("actual-size").asLong(),
                top.has("cluster-size") ? top.get("cluster-size").asLong() : null,
                top.has("dirty-flag") ? top.get("dirty-flag").asBoolean() : null,
                spec.has("corrupt") ? spec.get("corrupt").asBoolean() : null,
                top.has("encrypted") ? top.get("encrypted").asBoolean() : null,
                text(spec, "compat"), backing, snapshots, withCheck ? check(path, format) : null, backing == null ? null : chain, note);
    }

    /** Follows the chain below {@code image}; returns why it stopped early, or null when it reached the bottom. */
    private String walk(Path image, JsonNode info, List<Backing> chain, Path allowedRoot) {
        Path current = image;
        JsonNode n = info;
        while (text(n, "backing-filename") != null) {
            if (chain.size() == MAX_CHAIN) {
                return "chain deeper than " + MAX_CHAIN + " images; not followed further";
            }
            String name = text(n, "full-backing-filename") != null ? text(n, "full-backing-filename") : text(n, "backing-filename");
            if (name.contains("://") || name.contains(":") && !name.startsWith("/")) {
                return "backing file " + Drive.redact(name) + " is not a local path; not opened";
            }
            Path next = current.toAbsolutePath().getParent().resolve(name).normalize();
            Path real;
            try {
                real = next.toRealPath();
            } catch (IOException e) {
                return "backing file " + next + " cannot be resolved: " + e.getMessage();
            }
            if (allowedRoot != null && !real.startsWith(allowedRoot)) {
                return "backing file " + next + " is outside " + allowedRoot + "; not opened";
            }
            try {
                ImageProbe.checkFile(real);
                n = info(real, text(n, "backing-filename-format"));
            } catch (GuestflowException e) {
                return "backing file " + next + ": " + e.getMessage();
            }
            chain.add(new Backing(real.toString(), n.path("format").asText(), n.path("virtual-size").asLong(),
                    n.path("actual-size").asLong(), text(n, "backing-filename")));
            current = real;
        }
        return null;
    }

    private JsonNode info(Path path, String format) {
        List<String> cmd = new ArrayList<>(List.of(qemuImg, "info", "-U", "--output=json"));
        if (format != null) {
            cmd.addAll(List.of("-f", format));
        }
        cmd.add(path.toString());
        Subprocess.Result r = run(cmd, path);
        if (r.exitCode() != 0) {
            throw new GuestflowException(ErrorCode.DISK_CORRUPT, path + ": qemu-img cannot open it: " + r.firstLine());
        }
        try {
            return JSON.readTree(r.stdout());
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.DISK_CORRUPT, path + ": unreadable qemu-img output: " + e.getMessage(), e);
        }
    }

    private Check check(Path path, String format) {
        Subprocess.Result r = run(List.of(qemuImg, "check", "-U", "--output=json", "-f", format, path.toString()), path);
        if (r.exitCode() == CHECK_UNSUPPORTED) {
            return new Check("unsupported", null, null, null, null);
        }
        JsonNode n;
        try {
            n = r.stdout().isBlank() ? JSON.createObjectNode() : JSON.readTree(r.stdout());
        } catch (IOException e) {
            n = JSON.createObjectNode();
        }
        String result = switch (r.exitCode()) {
            case 0 -> "clean";
            case CHECK_LEAKS -> "leaks";
            case CHECK_CORRUPT -> "corrupt";
            default -> "error";
        };
        return new Check(result, count(n, "corruptions"), count(n, "leaks"), count(n, "check-errors"),
                r.exitCode() == 0 ? null : r.firstLine());
    }

    private Subprocess.Result run(List<String> cmd, Path path) {
        try {
            return Subprocess.run(cmd, timeout);
        } catch (Subprocess.TimedOut e) {
            throw new GuestflowException(ErrorCode.DISK_UNREADABLE, path + ": " + e.getMessage()
                    + " (an image or a file it names that does not answer)", e);
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot run " + cmd.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestflowException(ErrorCode.POOL_CLOSED, "interrupted running " + cmd.get(0), e);
        }
    }

    private static Long count(JsonNode n, String field) {
        return n.has(field) ? n.get(field).asLong() : null;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
