package io.guestflow.tests;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The oracle for sparsify: the installed virt-sparsify on a copy of the same
 * fixture. Only sizes and timings are kept, cached by tool version, input
 * hash and mode under {@code ~/.cache/guestflow/oracle/virt-sparsify}: a run
 * costs an appliance launch.
 */
final class VirtSparsify {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param allocatedBefore the input's (in place: the image's) allocated bytes before the run
     * @param allocatedAfter  copy mode: the output's allocated bytes; in place: the image's after the run
     */
    record Run(String mode, long allocatedBefore, long allocatedAfter, long apparentAfter, long millis) {
    }

    private VirtSparsify() {
    }

    /** {@code virt-sparsify IMAGE OUT} (output format: the input's, as ours defaults to). */
    static Run copy(Path image) {
        return cached(image, "copy", work -> {
            Path out = work.resolve("out.img");
            long t = System.nanoTime();
            VirtTool.run(Duration.ofMinutes(15), List.of("virt-sparsify", "--format", "qcow2", image.toString(), out.toString()))
                    .orFail("virt-sparsify");
            long ms = (System.nanoTime() - t) / 1_000_000;
            return new Run("copy", Images.allocated(image), Images.allocated(out), Files.size(out), ms);
        });
    }

    /** {@code virt-sparsify --in-place} on a sparse copy of IMAGE. */
    static Run inPlace(Path image) {
        return cached(image, "in-place", work -> {
            Path copy = Images.sparseCopy(image, work.resolve("in-place.qcow2"));
            long before = Images.allocated(copy);
            long t = System.nanoTime();
            VirtTool.run(Duration.ofMinutes(15), List.of("virt-sparsify", "--in-place", "--format", "qcow2", copy.toString()))
                    .orFail("virt-sparsify --in-place");
            long ms = (System.nanoTime() - t) / 1_000_000;
            return new Run("in-place", before, Images.allocated(copy), Files.size(copy), ms);
        });
    }

    private interface Body {
        Run run(Path work) throws IOException;
    }

    private static Run cached(Path image, String mode, Body body) {
        try {
            Path dir = Fixtures.cacheRoot().resolve("oracle").resolve("virt-sparsify")
                    .resolve(VirtTool.key(VirtTool.version("virt-sparsify"), Fixtures.sha256(image), mode));
            Path result = dir.resolve("run.json");
            if (Files.exists(result)) {
                return JSON.readValue(result.toFile(), Run.class);
            }
            Files.createDirectories(dir);
            Path work = Files.createTempDirectory(dir.getParent(), "work-");
            try {
                Run r = body.run(work);
                Path tmp = dir.resolve("run.json.tmp");
                JSON.writeValue(tmp.toFile(), r);
                Files.move(tmp, result, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                return r;
            } finally {
                io.guestflow.pool.FileTrees.delete(work);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
