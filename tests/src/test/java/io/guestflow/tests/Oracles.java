package io.guestflow.tests;

import io.guestflow.pool.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The virt tools' outputs on the test fixtures, kept in the repository as
 * golden files, the way libguestfs keeps {@code inspector/expected-*.img.xml}:
 * {@code tests/src/test/resources/oracles/<tool>/}. Tests compare against
 * them and never run a virt tool; {@code make oracles} runs the real tools on
 * freshly built fixtures and writes them again ({@link RegenerateOracles}).
 *
 * <p>Each tool's folder holds {@code recipe.properties}: the recipe of the
 * fixtures the outputs were made from, the tool's version and the date. A
 * test whose fixture recipe has moved on fails until the oracles are
 * regenerated, so a golden file never vouches for an image it was not made
 * from.
 */
final class Oracles {
    private static final String META = "recipe.properties";

    private Oracles() {
    }

    /** The oracles folder of the source tree (surefire passes the repository root). */
    static Path root() {
        String repo = System.getProperty("guestflow.repo");
        Path base = repo != null ? Path.of(repo) : Path.of("..");
        return base.resolve("tests/src/test/resources/oracles").toAbsolutePath().normalize();
    }

    /**
     * The golden folder of {@code tool}, after checking that it was made from
     * the fixtures of {@code recipe}.
     */
    static Path of(String tool, String recipe) {
        Path dir = root().resolve(tool);
        Path meta = dir.resolve(META);
        if (!Files.isRegularFile(meta)) {
            throw new AssertionError("no golden outputs of " + tool + " in " + dir + ": run `make oracles`");
        }
        String madeFrom = properties(meta).getProperty("recipe");
        if (!recipe.equals(madeFrom)) {
            throw new AssertionError("the golden outputs of " + tool + " in " + dir + " were made from fixture recipe '"
                    + madeFrom + "', but the fixtures are now at '" + recipe + "': run `make oracles` and commit "
                    + "the regenerated files");
        }
        return dir;
    }

    /** Reads one golden file as text. */
    static String read(String tool, String recipe, String file) {
        Path p = of(tool, recipe).resolve(file);
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError("golden file " + p + " is missing: run `make oracles`", e);
        }
    }

    /** What {@code recipe.properties} of {@code tool} says. */
    static Properties meta(String tool) {
        return properties(root().resolve(tool).resolve(META));
    }

    /**
     * Replaces {@code tool}'s golden folder with {@code files} (name → text),
     * written beside it and swapped in at once.
     */
    static void write(String tool, String recipe, String toolVersion, Map<String, String> files) {
        Path dir = root().resolve(tool);
        Path tmp = dir.resolveSibling(tool + ".new");
        try {
            FileTrees.delete(tmp);
            Files.createDirectories(tmp);
            Map<String, String> meta = new TreeMap<>();
            meta.put("recipe", recipe);
            meta.put("tool", toolVersion);
            meta.put("generated", Instant.now().toString());
            StringBuilder props = new StringBuilder("# written by `make oracles` (RegenerateOracles); do not edit\n");
            meta.forEach((k, v) -> props.append(k).append('=').append(v.replace("\n", " ")).append('\n'));
            Files.writeString(tmp.resolve(META), props, StandardCharsets.UTF_8);
            for (Map.Entry<String, String> f : files.entrySet()) {
                Files.writeString(tmp.resolve(f.getKey()), f.getValue(), StandardCharsets.UTF_8);
            }
            FileTrees.delete(dir);
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the golden outputs of " + tool, e);
        }
    }

    private static Properties properties(Path file) {
        Properties p = new Properties();
        try (var r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }
}
