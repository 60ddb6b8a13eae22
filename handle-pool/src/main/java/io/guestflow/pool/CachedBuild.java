package io.guestflow.pool;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * A folder of built images in a cache, made once per machine: under a file
 * lock of its own ({@code <folder>.lock}), so builders in other processes
 * wait and then find it done, and into a temporary folder beside it that is
 * renamed at once, so an interrupted build leaves nothing that looks complete.
 * Builds of different folders may nest (one fixture made from another).
 */
public final class CachedBuild {
    /** Threads of this process building the same folder wait here: a file lock is per process. */
    private static final Map<Path, Object> IN_PROCESS = new ConcurrentHashMap<>();

    /** How the folder's content is made, in a fresh empty folder. */
    @FunctionalInterface
    public interface Builder {
        void build(Path work) throws IOException;
    }

    private CachedBuild() {
    }

    /**
     * Returns {@code done}, building it first with {@code builder} unless
     * {@code complete} already holds for it.
     */
    public static Path ensure(Path done, Predicate<Path> complete, Builder builder) {
        if (complete.test(done)) {
            return done;
        }
        Path key = done.toAbsolutePath().normalize();
        synchronized (IN_PROCESS.computeIfAbsent(key, k -> new Object())) {
            try {
                Files.createDirectories(key.getParent());
                Path lockFile = key.resolveSibling(key.getFileName() + ".lock");
                try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                     FileLock ignored = ch.lock()) {
                    if (complete.test(key)) {
                        return done;
                    }
                    Path work = Files.createTempDirectory(key.getParent(), key.getFileName() + ".building-");
                    try {
                        builder.build(work);
                        FileTrees.delete(key);
                        Files.move(work, key, StandardCopyOption.ATOMIC_MOVE);
                    } finally {
                        FileTrees.delete(work);
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot build " + key, e);
            }
        }
        if (!complete.test(done)) {
            throw new IllegalStateException("the build of " + done + " finished without everything it should hold");
        }
        return done;
    }
}
