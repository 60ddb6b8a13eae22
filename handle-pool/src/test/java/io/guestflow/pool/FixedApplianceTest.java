package io.guestflow.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fixed appliance's lens selection and cache folder, without building or launching one. */
class FixedApplianceTest {

    @Test
    void keepsTheInspectionLensesAndWhatTheyImportAndExcludesTheRest(@TempDir Path lenses) throws Exception {
        Path dist = Files.createDirectories(lenses.resolve("dist"));
        Files.writeString(dist.resolve("fstab.aug"), "module Fstab =\n let sep = Sep.tab\n (* Hosts.lns in a comment *)\n");
        Files.writeString(dist.resolve("mdadm_conf.aug"), "module Mdadm_conf =\n let eol = Util.eol\n");
        Files.writeString(dist.resolve("shellvars.aug"), "module Shellvars =\n let e = Util.eol\n");
        Files.writeString(dist.resolve("sep.aug"), "module Sep =\n let tab = Rx.space\n");
        Files.writeString(dist.resolve("rx.aug"), "module Rx =\n let space = /[ \\t]+/\n");
        Files.writeString(dist.resolve("util.aug"), "module Util =\n let eol = del /\\n/ \"\\n\"\n");
        Files.writeString(dist.resolve("hosts.aug"), "module Hosts =\n let lns = Util.eol\n");
        Files.writeString(dist.resolve("grub.aug"), "module Grub =\n let lns = Sep.tab\n");
        Files.writeString(lenses.resolve("local.aug"), "module Local =\n let x = Util.eol\n");

        List<String> excluded = FixedAppliance.lensExclusions(lenses);

        assertThat(excluded).containsExactly("-" + dist.resolve("grub.aug"), "-" + dist.resolve("hosts.aug"),
                "-" + lenses.resolve("local.aug"), "-" + dist.resolve("tests") + "/*");
    }

    @Test
    void referencesAreQualifiedModuleNamesOutsideComments() {
        assertThat(FixedAppliance.references("let a = Util.eol . Build.opt_list (* Quote.dquote *) Sep.space"))
                .containsExactly("build", "sep", "util");
    }

    @Test
    void theHostsRealLensesAreEnoughForInspection() throws Exception {
        Path real = FixedAppliance.LENS_DIR;
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(real.resolve("dist")), "no Augeas lenses here");
        List<String> excluded = FixedAppliance.lensExclusions(real);
        for (String kept : List.of("fstab", "mdadm_conf", "shellvars", "util", "sep", "rx", "build")) {
            assertThat(excluded).doesNotContain("-" + real.resolve("dist").resolve(kept + ".aug"));
        }
        assertThat(excluded).contains("-" + real.resolve("dist").resolve("grub.aug"));
    }

    @Test
    void eachLibguestfsVersionRecipeAndKindHasItsOwnFolder() {
        Path root = Path.of("/cache");
        assertThat(FixedAppliance.folder(root, ApplianceKind.FIXED, "1.48.6"))
                .isEqualTo(Path.of("/cache/fixed-appliance/1.48.6-r" + FixedAppliance.RECIPE + "-fixed"));
        assertThat(FixedAppliance.folder(root, ApplianceKind.FIXED_ALL_LENSES, "1.48.6"))
                .isEqualTo(Path.of("/cache/fixed-appliance/1.48.6-r" + FixedAppliance.RECIPE + "-fixed-all-lenses"));
    }

    @Test
    void aFolderWithoutAllFourFilesIsNotAFixedAppliance(@TempDir Path dir) throws Exception {
        for (String f : List.of("kernel", "initrd", "root")) {
            Files.writeString(dir.resolve(f), "x");
        }
        assertThat(FixedAppliance.complete(dir)).isFalse();
        Files.writeString(dir.resolve("README.fixed"), "x");
        assertThat(FixedAppliance.complete(dir)).isTrue();
    }
}
