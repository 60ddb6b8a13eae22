package io.guestflow.tests;

import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.samples.SampleGuests;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Fixture images for the tests: the sample guests, built once per recipe
 * version and cached under {@code ~/.cache/guestflow/fixtures} (or the
 * {@code guestflow.cache} system property).
 */
public final class Fixtures {
    private static final BuiltOnce<Path> IMAGES = new BuiltOnce<>(() -> {
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1))) {
            return SampleGuests.ensure(cacheRoot().resolve("fixtures"), pool);
        }
    });

    private Fixtures() {
    }

    public static Path cacheRoot() {
        String p = System.getProperty("guestflow.cache");
        return p != null ? Path.of(p) : Path.of(System.getProperty("user.home"), ".cache", "guestflow");
    }

    /** The folder with every {@link SampleGuests.Image}, built on first use. */
    public static Path images() {
        return IMAGES.get();
    }

    public static Path image(SampleGuests.Image i) {
        return images().resolve(i.fileName);
    }

    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
