package io.guestflow.pool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a local image before any appliance sees it, with {@code qemu-img}
 * (read-only, {@code -U} so a running VM's lock does not stop us):
 * existence, readability, non-zero length, the real format (so qemu never
 * probes it), a declared format that lies, a damaged qcow2, and backing
 * files. Every failure is a {@link GuestflowException} with a specific code;
 * the image is never written.
 */
public final class ImageProbe {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** qemu-img check's exit code for "this format has no consistency check". */
    private static final int CHECK_UNSUPPORTED = 63;
    /** The longest a qemu-img call of the probe may take before it is killed. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);

    private final String qemuImg;
    private final Duration timeout;

    public ImageProbe() {
        this("qemu-img");
    }

    public ImageProbe(String qemuImg) {
        this(qemuImg, DEFAULT_TIMEOUT);
    }

    /** @param timeout each qemu-img call is killed (with its children) after this long, whatever it prints */
    public ImageProbe(String qemuImg, Duration timeout) {
        this.qemuImg = qemuImg;
        this.timeout = timeout;
    }

    /**
     * Validates a drive and returns it with its format resolved. Remote
     * drives must name their format: nothing is probed over the network.
     */
    public Drive resolve(Drive drive, boolean allowBackingFile) {
        if (!drive.isLocal()) {
            if (drive.format() == null) {
                throw new GuestflowException(ErrorCode.INVALID_DRIVE,
                        "remote drive " + Drive.redact(drive.uri()) + " must name its format (raw, qcow2, ...)");
            }
            return drive;
        }
        ImageInfo info = inspect(drive.path(), drive.format(), allowBackingFile);
        return drive.withFormat(info.format());
    }

    /** Checks a local image and tells its format and sizes. */
    public ImageInfo inspect(Path path, String declaredFormat, boolean allowBackingFile) {
        checkFile(path);
        ImageInfo detected = info(path, null);
        String format = detected.format();
        if (declaredFormat != null && !declaredFormat.equals(format)) {
            // raw accepts any bytes, so "raw" over a qcow2 would hand the guest the
            // qcow2 metadata; any other mismatch would fail later inside qemu
            Result r = run(List.of(qemuImg, "info", "-U", "--output=json", "-f", declaredFormat, path.toString()));
            String why = r.exitCode == 0 ? "content is " + format : firstLine(r.stderr);
            throw new GuestflowException(ErrorCode.FORMAT_MISMATCH,
                    path + ": declared format " + declaredFormat + " does not match the file (" + why + ")");
        }
        if (detected.backingFile() != null && !allowBackingFile) {
            throw new GuestflowException(ErrorCode.BACKING_FILE_REFUSED,
                    path + " has a backing file (" + detected.backingFile()
                            + "); refused because it would make the appliance open other host files"
                            + " (flatten it with qemu-img convert, or enable backing files in the configuration)");
        }
        check(path, format);
        return detected;
    }

    static void checkFile(Path path) {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS) && !Files.exists(path)) {
            throw new GuestflowException(ErrorCode.DISK_NOT_FOUND, path + ": no such file");
        }
        if (!Files.exists(path)) {
            throw new GuestflowException(ErrorCode.DISK_NOT_FOUND, path + ": dangling symbolic link");
        }
        if (!Files.isRegularFile(path)) {
            throw new GuestflowException(ErrorCode.DISK_UNREADABLE,
                    path + ": not a regular file" + (Files.isDirectory(path) ? " (a directory)" : ""));
        }
        if (!Files.isReadable(path)) {
            throw new GuestflowException(ErrorCode.DISK_UNREADABLE, path + ": permission denied");
        }
        try (InputStream in = Files.newInputStream(path)) {
            if (Files.size(path) == 0) {
                throw new GuestflowException(ErrorCode.DISK_EMPTY, path + ": zero-length file is not a disk image");
            }
            in.read();
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.DISK_UNREADABLE, path + ": cannot read: " + e.getMessage(), e);
        }
    }

    private ImageInfo info(Path path, String format) {
        List<String> cmd = new ArrayList<>(List.of(qemuImg, "info", "-U", "--output=json"));
        if (format != null) {
            cmd.addAll(List.of("-f", format));
        }
        cmd.add(path.toString());
        Result r = run(cmd);
        if (r.exitCode != 0) {
            throw new GuestflowException(ErrorCode.DISK_CORRUPT, path + ": qemu-img cannot open it: " + firstLine(r.stderr));
        }
        try {
            JsonNode n = JSON.readTree(r.stdout);
            String backing = n.hasNonNull("backing-filename") ? n.get("backing-filename").asText() : null;
            return new ImageInfo(n.path("format").asText(), n.path("virtual-size").asLong(),
                    n.path("actual-size").asLong(), backing);
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.DISK_CORRUPT, path + ": unreadable qemu-img output: " + e.getMessage(), e);
        }
    }

    /** A metadata check catches truncated and damaged images that qemu-img info still opens. */
    private void check(Path path, String format) {
        if (format.equals("raw")) {
            return;
        }
        Result r = run(List.of(qemuImg, "check", "-U", "-f", format, path.toString()));
        // 0 clean, 3 leaked clusters only (harmless for reading); 63 no check for this format
        if (r.exitCode == 0 || r.exitCode == 3 || r.exitCode == CHECK_UNSUPPORTED) {
            return;
        }
        String detail = firstLine(r.stderr.isBlank() ? r.stdout : r.stderr);
        throw new GuestflowException(ErrorCode.DISK_CORRUPT,
                path + ": " + format + " image is damaged or truncated (qemu-img check: " + detail + ")");
    }

    private static String firstLine(String s) {
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    private record Result(int exitCode, String stdout, String stderr) {
    }

    private Result run(List<String> cmd) {
        try {
            Subprocess.Result r = Subprocess.run(cmd, timeout);
            return new Result(r.exitCode(), r.stdout(), r.stderr());
        } catch (Subprocess.TimedOut e) {
            // an image whose data file or extent never answers (a FIFO, a hung mount) hangs qemu-img itself
            throw new GuestflowException(ErrorCode.DISK_UNREADABLE, cmd.get(cmd.size() - 1) + ": " + e.getMessage()
                    + " (an image or a file it names that does not answer)", e);
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.LAUNCH_FAILED, "cannot run " + cmd.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestflowException(ErrorCode.POOL_CLOSED, "interrupted running " + cmd.get(0), e);
        }
    }
}
