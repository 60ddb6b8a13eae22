package io.guestflow.tests;

import io.guestflow.samples.SampleGuests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The oracle for sysprep: the file trees virt-sysprep leaves on copies of the
 * sysprep fixtures (Debian with the default operations, RHEL 7 with
 * operations added and removed), kept as golden files ({@link Oracles},
 * folder {@code virt-sysprep/}: {@code debian.tree}, {@code rhel.tree}) and
 * made again by {@code make oracles}.
 */
final class VirtSysprep {
    static final String TOOL = "virt-sysprep";
    /** Debian: the default set. RHEL: optional operations added and defaults removed, as a user would. */
    static final List<String> DEBIAN_OPS = List.of("defaults");
    static final List<String> RHEL_OPS = List.of("defaults", "firewall-rules", "flag-reconfiguration",
            "kerberos-data", "user-account", "-tmp-files", "-bash-history");

    private VirtSysprep() {
    }

    /** The fixtures and operation sets the golden trees must have been made from. */
    static String recipe() {
        return "sysprep-v" + SysprepFixtures.RECIPE + "+samples-v" + SampleGuests.RECIPE_VERSION
                + " debian" + DEBIAN_OPS + " rhel" + RHEL_OPS;
    }

    /** virt-sysprep's trees by distro ("debian", "rhel"). */
    static Map<String, GuestTree> golden() {
        Map<String, GuestTree> trees = new LinkedHashMap<>();
        for (String distro : List.of("debian", "rhel")) {
            trees.put(distro, GuestTreeFiles.parse(Oracles.read(TOOL, recipe(), distro + ".tree")));
        }
        return trees;
    }

    /** Runs virt-sysprep on copies of the current fixtures and reads both trees: the golden files, by name. */
    static Map<String, String> regenerate(Path work) throws IOException {
        Path fixtures = SysprepFixtures.dir();
        Path debian = Files.copy(fixtures.resolve(SysprepFixtures.DEBIAN), work.resolve("virt-sysprep-debian.qcow2"));
        Path rhel = Files.copy(fixtures.resolve(SysprepFixtures.RHEL), work.resolve("virt-sysprep-rhel.qcow2"));
        VirtTool.run(Duration.ofMinutes(15), TOOL, "--format", "qcow2", "-a", debian.toString(),
                "--operations", String.join(",", DEBIAN_OPS)).orFail("virt-sysprep (debian)");
        VirtTool.run(Duration.ofMinutes(15), TOOL, "--format", "qcow2", "-a", rhel.toString(),
                "--operations", String.join(",", RHEL_OPS)).orFail("virt-sysprep (rhel)");
        Map<String, GuestTree> trees = GuestTree.read(List.of(debian, rhel));
        Map<String, String> files = new LinkedHashMap<>();
        files.put("debian.tree", GuestTreeFiles.text(trees.get("debian")));
        files.put("rhel.tree", GuestTreeFiles.text(trees.get("rhel")));
        return files;
    }
}
