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
 * policy allows.
 *
 * <p>No qemu-img opens a file the image policy has not vetted: first
 * {@link ImageProbe#vet} walks the headers in Java (format and features
 * against the allowlist; data files, VMDK extents and backing files must be
 * regular files under the policy's root), then {@code qemu-img info} runs on
 * each vetted file of the chain, one at a time ({@code info} never opens a
 * backing file itself) with the format given (qemu never probes), and must
 * name no file the walk did not vet. {@code qemu-img check} opens the whole
 * backing chain, so where the chain is not followed to its end the image is
 * checked with its backing file cut off ({@code "backing": null}). Every call
 * runs under a deadline ({@link Subprocess}); the image is never written.
 */
public final class ImageFacts {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** qemu-img check's exit codes. */
    private static final int CHECK_CORRUPT = 2;
    private static final int CHECK_LEAKS = 3;
    private static final int CHECK_UNSUPPORTED = 63;

    private final String qemuImg;
    private final ImageProbe probe;
    private final Duration timeout;

    /**
     * @param probe   whose policy vets every file before qemu-img opens it
     * @param timeout each qemu-img call is killed (with its children) after this long
     */
    public ImageFacts(ImageProbe probe, Duration timeout) {
        this("qemu-img", probe, timeout);
    }

    public ImageFacts(String qemuImg, ImageProbe probe, Duration timeout) {
        this.qemuImg = qemuImg;
        this.probe = probe;
        this.timeout = timeout;
    }

    /** One disk's facts (sizes in bytes). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Disk(String path, String format, long virtualSize, Long allocatedSize, Long clusterSize,
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
     * @param withCheck      run {@code qemu-img check} too (reads all metadata)
     */
    public Disk of(Path path, String declaredFormat, boolean followBacking, boolean withCheck) {
        // the Java walk first: what the policy refuses is refused before any qemu-img runs
        ImageProbe.Vetted v = probe.vet(path, declaredFormat, followBacking);
        JsonNode top = info(v, v.image(), v.format());
        JsonNode spec = top.path("format-specific").path("data");
        List<Snapshot> snapshots = snapshots(top);
        String backing = text(top, "backing-filename");
        List<Backing> chain = new ArrayList<>();
        for (ImageProbe.Backing b : v.chain()) {
            JsonNode n = info(v, b.file(), b.format());
            chain.add(new Backing(b.file().toString(), n.path("format").asText(), n.path("virtual-size").asLong(),
                    n.path("actual-size").asLong(), text(n, "backing-filename")));
        }
        return new Disk(path.toString(), v.format(), top.path("virtual-size").asLong(), top.path("actual-size").asLong(),
                top.has("cluster-size") ? top.get("cluster-size").asLong() : null,
                top.has("dirty-flag") ? top.get("dirty-flag").asBoolean() : null,
                spec.has("corrupt") ? spec.get("corrupt").asBoolean() : null,
                top.has("encrypted") ? top.get("encrypted").asBoolean() : null,
                text(spec, "compat"), backing, snapshots, withCheck ? check(v) : null, backing == null ? null : chain,
                backing == null ? null : v.stoppedBecause());
    }

    /**
     * Facts of a remote drive (nbd, http(s), ssh), read over the network by
     * qemu-img through the drive's local overlay ({@link RemoteImage}; the URL
     * is on no command line): the host and format pass the policy first
     * ({@link ImageProbe#checkRemote}), no backing file is opened. The
     * allocated size is absent where the protocol cannot tell it (nbd, http).
     * {@code qemu-img check} is not run on a remote image: it would need the
     * URL on its command line (and a raw image has no check anyway).
     */
    public Disk of(Drive drive, boolean withCheck) {
        JsonNode top = probe.remoteQemuInfo(drive);
        JsonNode spec = top.path("format-specific").path("data");
        String backing = text(top, "backing-filename");
        Check check = withCheck ? new Check("unsupported", null, null, null, drive.format().equals("raw") ? null
                : "not run on a remote image: qemu-img check would need its URL on its command line") : null;
        return new Disk(Drive.redact(drive.uri()), drive.format(), top.path("virtual-size").asLong(),
                top.has("actual-size") ? top.get("actual-size").asLong() : null,
                top.has("cluster-size") ? top.get("cluster-size").asLong() : null,
                top.has("dirty-flag") ? top.get("dirty-flag").asBoolean() : null,
                spec.has("corrupt") ? spec.get("corrupt").asBoolean() : null,
                top.has("encrypted") ? top.get("encrypted").asBoolean() : null,
                text(spec, "compat"), backing == null ? null : Secrets.redact(backing), snapshots(top), check, null,
                backing == null ? null : "the backing file of a remote image is not followed");
    }

    private static List<Snapshot> snapshots(JsonNode top) {
        List<Snapshot> snapshots = new ArrayList<>();
        for (JsonNode s : top.path("snapshots")) {
            snapshots.add(new Snapshot(s.path("id").asText(), s.path("name").asText(),
                    Instant.ofEpochSecond(s.path("date-sec").asLong(), s.path("date-nsec").asLong()).toString(),
                    s.path("vm-state-size").asLong()));
        }
        return snapshots;
    }

    /** {@code qemu-img info} of one vetted file, opened as {@code format}; it must name nothing unvetted. */
    private JsonNode info(ImageProbe.Vetted v, Path file, String format) {
        Subprocess.Result r = run(List.of(qemuImg, "info", "-U", "--output=json", "-f", format, file.toString()), file);
        if (r.exitCode() != 0) {
            throw new GuestflowException(ErrorCode.DISK_CORRUPT, file + ": qemu-img cannot open it: " + r.firstLine());
        }
        JsonNode n;
        try {
            n = JSON.readTree(r.stdout());
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.DISK_CORRUPT, file + ": unreadable qemu-img output: " + e.getMessage(), e);
        }
        ImageProbe.confirmOpened(v, file, n);
        return n;
    }

    /**
     * {@code qemu-img check} of the image. It opens the backing chain: where
     * that is not vetted to its end, the image is named as a {@code json:}
     * pseudo-filename with its backing file cut off and its data file (if
     * any) given as the vetted path.
     */
    private Check check(ImageProbe.Vetted v) {
        List<String> cmd = new ArrayList<>(List.of(qemuImg, "check", "-U", "--output=json"));
        if (v.chainComplete()) {
            cmd.addAll(List.of("-f", v.format(), v.image().toString()));
        } else {
            com.fasterxml.jackson.databind.node.ObjectNode o = JSON.createObjectNode();
            o.put("driver", v.format());
            o.putObject("file").put("driver", "file").put("filename", v.image().toString());
            if (v.dataFile() != null) {
                o.putObject("data-file").put("driver", "file").put("filename", v.dataFile().toString());
            }
            o.putNull("backing");
            cmd.add("json:" + o);
        }
        return check(run(cmd, v.image()));
    }

    /** What {@code qemu-img check} said, by its exit code. */
    private static Check check(Subprocess.Result r) {
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
                r.exitCode() == 0 ? null : Secrets.redact(r.firstLine()));
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
