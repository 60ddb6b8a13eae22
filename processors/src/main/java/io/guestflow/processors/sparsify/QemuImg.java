package io.guestflow.processors.sparsify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.Subprocess;
import io.guestflow.processors.job.DiskOverlays;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The {@code qemu-img} calls of sparsify: overlays, conversion, and sizes. */
final class QemuImg {
    private static final ObjectMapper JSON = new ObjectMapper();

    private QemuImg() {
    }

    /** Sizes of an image file as the host sees it. */
    record Sizes(String format, long virtualSize, long apparentSize, long allocatedSize) {
    }

    /** A qcow2 overlay at {@code overlay} whose backing file is {@code backing} (never written through it). */
    static void createOverlay(Path overlay, Path backing, String backingFormat, long virtualSize) {
        run(Duration.ofMinutes(2), "create overlay " + overlay, "qemu-img", "create", "-q", "-f", "qcow2",
                "-o", "cluster_size=" + overlayClusterSize(virtualSize), "-F", backingFormat, "-b",
                backing.toAbsolutePath().toString(), overlay.toString());
    }

    /** See {@link DiskOverlays#clusterSizeForTrim(long)}. */
    static int overlayClusterSize(long virtualSize) {
        return DiskOverlays.clusterSizeForTrim(virtualSize);
    }

    /**
     * Copies {@code source} to {@code target} in {@code format}; zero and
     * discarded clusters are not written, which is where the image gets small.
     */
    static void convert(Path source, String sourceFormat, Path target, String format, boolean compress, Duration timeout) {
        List<String> cmd = new ArrayList<>(List.of("qemu-img", "convert", "-f", sourceFormat, "-O", format));
        if (compress) {
            cmd.add("-c");
        }
        cmd.add(source.toString());
        cmd.add(target.toString());
        run(timeout, "convert to " + target, cmd.toArray(String[]::new));
    }

    /** Format, virtual size and the file's apparent and allocated sizes; {@code -U} because a running appliance may hold it. */
    static Sizes sizes(Path image) {
        String out = run(Duration.ofMinutes(1), "measure " + image, "qemu-img", "info", "-U", "--output=json", image.toString());
        try {
            JsonNode n = JSON.readTree(out);
            return new Sizes(n.path("format").asText(), n.path("virtual-size").asLong(), Files.size(image),
                    n.path("actual-size").asLong());
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot measure " + image + ": " + e.getMessage(), e);
        }
    }

    /** Bytes the host has allocated for {@code image}. */
    static long allocated(Path image) {
        return sizes(image).allocatedSize();
    }

    private static String run(Duration timeout, String what, String... cmd) {
        try {
            Subprocess.Result r = Subprocess.run(List.of(cmd), timeout);
            if (r.exitCode() != 0) {
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, "qemu-img could not " + what + ": "
                        + io.guestflow.pool.Secrets.redact(r.stderr().strip()));
            }
            return r.stdout();
        } catch (Subprocess.TimedOut e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "qemu-img could not " + what + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot run qemu-img to " + what + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            // a cancelled job leaves no qemu-img writing behind it: the runner killed it
            Thread.currentThread().interrupt();
            throw new GuestflowException(ErrorCode.POOL_CLOSED, "interrupted: qemu-img " + what, e);
        }
    }
}
