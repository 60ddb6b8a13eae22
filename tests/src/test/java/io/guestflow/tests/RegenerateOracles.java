package io.guestflow.tests;

import io.guestflow.pool.FileTrees;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code make oracles}: runs the real virt tools on freshly built fixtures of
 * the current recipes and writes their outputs as the golden files of
 * {@link Oracles}. Not part of {@code make test} (tag {@code oracles}); run it
 * after changing a fixture's recipe, a scenario or a tool version, then
 * review and commit {@code tests/src/test/resources/oracles/}. One tool:
 * {@code make oracles ORACLES=virtResize}.
 */
@Tag("oracles")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegenerateOracles {
    private Path work;

    @BeforeAll
    void start() throws Exception {
        work = Files.createTempDirectory("oracles");
    }

    @AfterAll
    void cleanUp() throws Exception {
        FileTrees.delete(work);
    }

    @Test
    void virtInspector() {
        Oracles.write(VirtInspector.TOOL, VirtInspector.recipe(), VirtTool.version(VirtInspector.TOOL),
                VirtInspector.regenerate());
    }

    @Test
    void virtSysprep() throws Exception {
        Oracles.write(VirtSysprep.TOOL, VirtSysprep.recipe(), VirtTool.version(VirtSysprep.TOOL),
                VirtSysprep.regenerate(Files.createDirectories(work.resolve("sysprep"))));
    }

    @Test
    void virtSparsify() throws Exception {
        Oracles.write(VirtSparsify.TOOL, VirtSparsify.recipe(), VirtTool.version(VirtSparsify.TOOL),
                VirtSparsify.regenerate(Files.createDirectories(work.resolve("sparsify"))));
    }

    @Test
    void virtResize() throws Exception {
        Oracles.write(VirtResize.TOOL, VirtResize.recipe(), VirtTool.version(VirtResize.TOOL),
                VirtResize.regenerate(Files.createDirectories(work.resolve("resize"))));
    }

    @Test
    void virtToolsLuks() throws Exception {
        Oracles.write(VirtLuks.FOLDER, VirtLuks.recipe(), VirtTool.version("virt-inspector"),
                VirtLuks.regenerate(Files.createDirectories(work.resolve("luks"))));
    }

    @Test
    void virtResizeLuks() throws Exception {
        Oracles.write(VirtResizeLuks.FOLDER, VirtResizeLuks.recipe(), VirtTool.version(VirtResize.TOOL),
                VirtResizeLuks.regenerate(Files.createDirectories(work.resolve("resize-luks"))));
    }
}
