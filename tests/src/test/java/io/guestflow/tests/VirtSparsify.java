package io.guestflow.tests;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.processors.job.ByteRanges;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The oracle for sparsify: virt-sparsify on the sparsify fixture, copy mode
 * and in place, each on the qcow2 image and on its raw conversion. Only sizes
 * and timings are kept, as golden files ({@link Oracles}, folder
 * {@code virt-sparsify/}: {@code copy-qcow2.json}, {@code copy-raw.json},
 * {@code in-place-qcow2.json}, {@code in-place-raw.json}) made again by
 * {@code make oracles}.
 */
final class VirtSparsify {
    static final String TOOL = "virt-sparsify";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param allocatedBefore the input's (in place: the image's) allocated bytes before the run
     * @param allocatedAfter  copy mode: the output's allocated bytes; in place: the image's after the run
     * @param allocatedNew    in place: bytes of the file allocated after the run that were holes before (what the
     *                        run wrote where the image held nothing); 0 in copy mode
     */
    record Run(String mode, String format, long allocatedBefore, long allocatedAfter, long apparentAfter, long allocatedNew,
               long millis) {
    }

    private VirtSparsify() {
    }

    static String recipe() {
        return "sparsify-v" + SparsifyFixture.RECIPE;
    }

    /** virt-sparsify's copy-mode run on fixture image A in {@code format} (qcow2, or its raw conversion). */
    static Run copy(String format) {
        return golden("copy-" + format);
    }

    /** virt-sparsify --in-place on a sparse copy of fixture image B in {@code format}. */
    static Run inPlace(String format) {
        return golden("in-place-" + format);
    }

    private static Run golden(String name) {
        try {
            return JSON.readValue(Oracles.read(TOOL, recipe(), name + ".json"), Run.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Fixture image {@code name} in {@code format} under {@code dir}: a sparse copy of the qcow2, or its raw
     * conversion (holes where it reads zeroes). The tests make their inputs the same way.
     */
    static Path input(SparsifyFixture.Built fixture, String name, String format, Path dir) {
        Path to = dir.resolve(name.replace(".qcow2", "") + "-" + System.nanoTime() + "." + format);
        if (format.equals("qcow2")) {
            return Images.sparseCopy(fixture.image(name), to);
        }
        VirtTool.run(Duration.ofMinutes(5), "qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw",
                fixture.image(name).toString(), to.toString()).orFail("qemu-img convert");
        return Images.writtenBack(to);
    }

    /** Runs virt-sparsify both ways on both formats of the current fixture: the golden files, by name. */
    static Map<String, String> regenerate(Path work) throws IOException {
        SparsifyFixture.Built fixture = SparsifyFixture.ensure();
        Map<String, String> files = new LinkedHashMap<>();
        for (String format : List.of("qcow2", "raw")) {
            Path a = input(fixture, SparsifyFixture.A, format, work);
            Path out = work.resolve("virt-sparsify-copy-" + format + "." + format);
            long t = System.nanoTime();
            VirtTool.run(Duration.ofMinutes(15), List.of(TOOL, "--format", format, a.toString(), out.toString()))
                    .orFail("virt-sparsify");
            Run copy = new Run("copy", format, Images.allocated(a), Images.allocated(out), Files.size(out), 0, ms(t));
            files.put("copy-" + format + ".json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(copy) + "\n");

            Path inPlace = input(fixture, SparsifyFixture.B, format, work);
            long before = Images.allocated(inPlace);
            ByteRanges blocks = Images.blocks(inPlace);
            t = System.nanoTime();
            VirtTool.run(Duration.ofMinutes(15), List.of(TOOL, "--in-place", "--format", format, inPlace.toString()))
                    .orFail("virt-sparsify --in-place");
            long millis = ms(t);
            Run in = new Run("in-place", format, before, Images.allocated(inPlace), Files.size(inPlace),
                    Images.blocks(inPlace).minus(blocks).total(), millis);
            files.put("in-place-" + format + ".json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(in) + "\n");
        }
        return files;
    }

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
