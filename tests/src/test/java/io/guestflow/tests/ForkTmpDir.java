package io.guestflow.tests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Creates this test JVM's {@code java.io.tmpdir} before any test runs. The
 * test JVMs run side by side, each with a temporary folder of its own (the
 * build gives each fork {@code target/fork-N}): what one JVM's tests leave
 * there or look for — handle directories, overlays — is its own.
 */
public final class ForkTmpDir implements LauncherSessionListener {
    @Override
    public void launcherSessionOpened(LauncherSession session) {
        try {
            Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
