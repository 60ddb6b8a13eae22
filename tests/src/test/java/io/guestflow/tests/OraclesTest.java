package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The golden files are there and were made from the fixtures the tests build
 * now: a recipe bumped without {@code make oracles} fails here, in seconds,
 * before any appliance starts. No launch.
 */
class OraclesTest {
    @Test
    void everyToolsGoldenOutputsMatchTheCurrentFixtureRecipes() {
        Map<String, String> recipes = Map.of(
                VirtInspector.TOOL, VirtInspector.recipe(),
                VirtSysprep.TOOL, VirtSysprep.recipe(),
                VirtSparsify.TOOL, VirtSparsify.recipe(),
                VirtResize.TOOL, VirtResize.recipe());
        recipes.forEach((tool, recipe) -> {
            assertThat(Oracles.of(tool, recipe)).as(tool).isDirectory();
            assertThat(Oracles.meta(tool).getProperty("tool")).as(tool + " version").contains(tool);
        });
        for (VirtInspector.Guest g : VirtInspector.Guest.values()) {
            assertThat(VirtInspector.golden(g).xml()).as(g.name).startsWith("<?xml");
        }
        assertThat(VirtSysprep.golden()).containsOnlyKeys("debian", "rhel");
        for (String format : java.util.List.of("qcow2", "raw")) {
            assertThat(VirtSparsify.copy(format).allocatedAfter()).as(format).isPositive();
            assertThat(VirtSparsify.inPlace(format).allocatedAfter()).as(format).isPositive();
        }
        java.nio.file.Path luks = Oracles.of(VirtLuks.FOLDER, VirtLuks.recipe());
        for (String f : java.util.List.of("inspector.xml", "log.txt", "sysprep.tree", "sparsify-copy.json",
                "sparsify-in-place.json", "luks.properties")) {
            assertThat(luks.resolve(f)).as(VirtLuks.FOLDER).isNotEmptyFile();
        }
        for (VirtResize.Scenario s : VirtResize.Scenario.values()) {
            assertThat(VirtResize.golden(s).facts()).as(s.name()).isNotEmpty();
        }
    }

    @Test
    void aRecipeTheGoldenFilesWereNotMadeFromIsRefusedWithWhatToDo() {
        assertThatThrownBy(() -> Oracles.of(VirtInspector.TOOL, "samples-v0"))
                .hasMessageContaining("make oracles").hasMessageContaining("samples-v0");
    }
}
