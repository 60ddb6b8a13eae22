package io.guestflow.tests;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The oracle for sparsify: virt-sparsify on a copy of the sparsify fixture,
 * copy mode and in place. Only sizes and timings are kept, as golden files
 * ({@link Oracles}, folder {@code virt-sparsify/}: {@code copy.json},
 * {@code in-place.json}) made again by {@code make oracles}.
 */
final class VirtSparsify {
    static final String TOOL = "virt-sparsify";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param allocatedBefore the input's (in place: the image's) allocated bytes before the run
     * @param allocatedAfter  copy mode: the output's allocated bytes; in place: the image's after the run
     */
    record Run(String mode, long allocatedBefore, long allocatedAfter, long apparentAfter, long millis) {
    }

    private VirtSparsify() {
    }

    static String recipe() {
        return "sparsify-v" + SparsifyFixture.RECIPE;
    }

    /** virt-sparsify's copy-mode run on fixture image A. */
    static Run copy() {
        return golden("copy");
    }

    /** virt-sparsify --in-place on a sparse copy of fixture image B. */
    static Run inPlace() {
        return golden("in-place");
    }

    private static Run golden(String mode) {
        try {
            return JSON.readValue(Oracles.read(TOOL, recipe(), mode + ".json"), Run.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs virt-sparsify both ways on the current fixture: the golden files, by name. */
    static Map<String, String> regenerate(Path work) throws IOException {
        SparsifyFixture.Built fixture = SparsifyFixture.ensure();
        Map<String, String> files = new LinkedHashMap<>();
        Path a = fixture.image(SparsifyFixture.A);
        Path out = work.resolve("virt-sparsify-copy.qcow2");
        long t = System.nanoTime();
        VirtTool.run(Duration.ofMinutes(15), List.of(TOOL, "--format", "qcow2", a.toString(), out.toString()))
                .orFail("virt-sparsify");
        Run copy = new Run("copy", Images.allocated(a), Images.allocated(out), Files.size(out), ms(t));
        files.put("copy.json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(copy) + "\n");

        Path inPlace = Images.sparseCopy(fixture.image(SparsifyFixture.B), work.resolve("virt-sparsify-in-place.qcow2"));
        long before = Images.allocated(inPlace);
        t = System.nanoTime();
        VirtTool.run(Duration.ofMinutes(15), List.of(TOOL, "--in-place", "--format", "qcow2", inPlace.toString()))
                .orFail("virt-sparsify --in-place");
        Run in = new Run("in-place", before, Images.allocated(inPlace), Files.size(inPlace), ms(t));
        files.put("in-place.json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(in) + "\n");
        return files;
    }

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
