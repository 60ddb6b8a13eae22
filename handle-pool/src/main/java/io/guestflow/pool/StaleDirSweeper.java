package io.guestflow.pool;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.StandardOpenOption;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes directories that appliances of a killed process left behind:
 * libguestfs's socket directories ({@code /tmp/libguestfsXXXXXX}) and our
 * per-handle directories. A directory is stale when it is older than
 * {@link #MIN_AGE} (a launch creates it a moment before it binds its
 * sockets), no running process names it on its command line, no open unix
 * socket lives in it (listed in /proc/net/unix), AND it shows it was
 * abandoned: it holds a socket file nobody listens on any more, or it is a
 * handle directory whose owner lock ({@link #OWNER_LOCK}) no process holds.
 * Anything else is left alone: a libguestfs temporary directory without
 * sockets may belong to a virt tool running right now (its qemu need not
 * name it), and deleting it breaks that tool's next call.
 */
public final class StaleDirSweeper {
    private static final Logger LOG = LoggerFactory.getLogger(StaleDirSweeper.class);
    static final Duration MIN_AGE = Duration.ofSeconds(10);
    /** The file in a handle directory that its owning process keeps locked while the handle lives. */
    public static final String OWNER_LOCK = ".owner.lock";

    private StaleDirSweeper() {
    }

    /** Sweeps {@code parent}'s children whose names start with {@code prefix}; returns what was removed. */
    public static List<Path> sweep(Path parent, String prefix) {
        List<Path> removed = new ArrayList<>();
        if (!Files.isDirectory(parent)) {
            return removed;
        }
        Instant cutoff = Instant.now().minus(MIN_AGE);
        List<Path> candidates;
        try (Stream<Path> s = Files.list(parent)) {
            candidates = s.filter(p -> p.getFileName().toString().startsWith(prefix))
                    .filter(p -> Files.isDirectory(p) && !Files.isSymbolicLink(p))
                    .filter(p -> olderThan(p, cutoff))
                    .toList();
        } catch (IOException e) {
            return removed;
        }
        if (candidates.isEmpty()) {
            return removed;
        }
        List<String> cmdlines = new ArrayList<>(HostInfo.commandLines());
        cmdlines.add(HostInfo.openUnixSockets());
        for (Path dir : candidates) {
            String name = dir.toString();
            if (cmdlines.stream().noneMatch(c -> c.contains(name)) && abandoned(dir)) {
                deleteTree(dir);
                if (!Files.exists(dir)) {
                    removed.add(dir);
                }
            }
        }
        if (!removed.isEmpty()) {
            LOG.info("removed {} stale appliance director{} left by a killed process: {}", removed.size(),
                    removed.size() == 1 ? "y" : "ies", removed);
        }
        return removed;
    }

    /** A dead socket file inside, or an owner lock nobody holds. */
    private static boolean abandoned(Path dir) {
        Path lock = dir.resolve(OWNER_LOCK);
        if (Files.isRegularFile(lock)) {
            try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.WRITE)) {
                FileLock l = ch.tryLock();
                if (l == null) {
                    return false; // another process holds it
                }
                l.release();
                return true;
            } catch (OverlappingFileLockException e) {
                return false; // this process holds it
            } catch (IOException e) {
                return false;
            }
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(StaleDirSweeper::isSocketFile);
        } catch (IOException e) {
            return false;
        }
    }

    /** A unix socket is neither a regular file, a directory nor a link. */
    private static boolean isSocketFile(Path p) {
        try {
            return Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS).isOther();
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean olderThan(Path p, Instant cutoff) {
        try {
            FileTime t = Files.getLastModifiedTime(p);
            return t.toInstant().isBefore(cutoff);
        } catch (IOException e) {
            return false;
        }
    }

    private static void deleteTree(Path dir) {
        try {
            FileTrees.delete(dir);
        } catch (IOException e) {
            LOG.debug("cannot remove {}: {}", dir, e.getMessage());
        }
    }
}
