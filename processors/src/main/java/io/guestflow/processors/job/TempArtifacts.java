package io.guestflow.processors.job;

import io.guestflow.pool.FileTrees;
import io.guestflow.pool.HostInfo;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every temporary file and folder a job creates, by name pattern, in one
 * place, and the sweep that removes the ones a killed job left behind (run at
 * engine start and after a failed job).
 *
 * <p>Beside an output (anywhere under the output root): {@code .NAME.N.part}
 * (sparsify copy), {@code .NAME.N.resizing} (resize), {@code .NAME.TAG.stepK}
 * (a pipeline's intermediate images) and {@code .NAME.guestflow-lock} (the
 * output claim). These belong to the job that holds NAME's claim: while the
 * claim's lock is held they are left alone. In temporary folders (the JVM's,
 * the tmp root): {@code guestflow-sparsify-*.qcow2} overlays,
 * {@code guestflow-overlays-*} folders, {@code guestflow-remote-*} folders (a
 * remote disk's overlay, {@link io.guestflow.pool.RemoteImage}), {@code guestflow-sysprep-script-*}
 * mount points and qemu-img's {@code qemu-img*.err}/{@code qemu-img-create*.log}.
 * These are removed when older than {@link #MIN_AGE}, open in no process,
 * named on no process's command line and (mount points) not mounted; a
 * running job keeps its overlay or a file in its folder open.
 */
public final class TempArtifacts {
    private static final Logger LOG = LoggerFactory.getLogger(TempArtifacts.class);
    static final Duration MIN_AGE = Duration.ofSeconds(10);
    public static final String LOCK_SUFFIX = ".guestflow-lock";
    /** The file a job keeps open inside a temporary folder of its own. */
    public static final String HELD = ".guestflow-held";

    /** Beside an output: group 1 is the name of the output (or of another artifact) it belongs to. */
    private static final List<Pattern> BESIDE_OUTPUT = List.of(
            Pattern.compile("\\.(.+)\\.\\d+\\.part"),
            Pattern.compile("\\.(.+)\\.\\d+\\.resizing"),
            Pattern.compile("\\.(.+)\\.[0-9a-f]{8}\\.step\\d+"),
            Pattern.compile("\\.(.+)" + Pattern.quote(LOCK_SUFFIX)));
    private static final List<Pattern> IN_TMP = List.of(
            Pattern.compile("guestflow-sparsify-\\d+\\.qcow2"),
            Pattern.compile("guestflow-overlays-\\d+"),
            Pattern.compile("guestflow-remote-\\d+"),
            Pattern.compile("guestflow-sysprep-script-\\d+"),
            Pattern.compile("qemu-img\\d+\\.err"),
            Pattern.compile("qemu-img-create\\d+\\.log"));

    private TempArtifacts() {
    }

    /** Whether {@code name} is a temporary file that lives beside an output. */
    public static boolean isArtifact(String name) {
        return BESIDE_OUTPUT.stream().anyMatch(p -> p.matcher(name).matches());
    }

    /** The output a file beside it belongs to, following artifacts of artifacts (a pipeline step's .part); null if none. */
    static String ownerOf(String name) {
        String n = name;
        for (int depth = 0; depth < 8; depth++) {
            String owner = null;
            for (Pattern p : BESIDE_OUTPUT) {
                Matcher m = p.matcher(n);
                if (m.matches()) {
                    owner = m.group(1);
                    break;
                }
            }
            if (owner == null) {
                return depth == 0 ? null : n;
            }
            n = owner;
        }
        return null;
    }

    /**
     * Removes what killed jobs left: beside outputs anywhere under
     * {@code outputRoot}, and in {@code tmpDirs}. Returns what was removed.
     */
    public static List<Path> sweep(Path outputRoot, List<Path> tmpDirs) {
        List<Path> removed = new ArrayList<>();
        if (outputRoot != null && Files.isDirectory(outputRoot)) {
            try {
                Files.walkFileTree(outputRoot, Set.of(), 16, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                        sweepBesideOutput(file, attrs, removed);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path file, IOException exc) {
                        return FileVisitResult.CONTINUE;
                    }
                });
            } catch (IOException e) {
                LOG.debug("cannot walk {}: {}", outputRoot, e.getMessage());
            }
        }
        List<Path> candidates = new ArrayList<>();
        Instant cutoff = Instant.now().minus(MIN_AGE);
        for (Path dir : new HashSet<>(tmpDirs)) {
            if (dir == null || !Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> IN_TMP.stream().anyMatch(x -> x.matcher(p.getFileName().toString()).matches()))
                        .filter(p -> olderThan(p, cutoff)).forEach(candidates::add);
            } catch (IOException e) {
                LOG.debug("cannot list {}: {}", dir, e.getMessage());
            }
        }
        if (!candidates.isEmpty()) {
            Set<String> open = openFiles();
            List<String> cmdlines = HostInfo.commandLines();
            String mounts = mounts();
            for (Path p : candidates) {
                String name = p.toString();
                boolean inUse = open.stream().anyMatch(o -> o.equals(name) || o.startsWith(name + "/"))
                        || cmdlines.stream().anyMatch(c -> c.contains(name)) || mounts.contains(" " + name + " ");
                if (!inUse && delete(p)) {
                    removed.add(p);
                }
            }
        }
        if (!removed.isEmpty()) {
            LOG.info("removed {} temporary file(s) left by killed jobs: {}", removed.size(), removed);
        }
        return removed;
    }

    private static void sweepBesideOutput(Path file, BasicFileAttributes attrs, List<Path> removed) {
        String owner = ownerOf(file.getFileName().toString());
        if (owner == null || !attrs.isRegularFile()) {
            return;
        }
        Path lock = file.resolveSibling("." + owner + LOCK_SUFFIX);
        if (heldByAJob(lock)) {
            return;
        }
        if (file.equals(lock)) {
            // nobody holds it: remove it the way a holder does, locked, so no job can be taking it meanwhile
            try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.WRITE); FileLock l = ch.tryLock()) {
                if (l != null && Files.deleteIfExists(lock)) {
                    removed.add(lock);
                }
            } catch (IOException | OverlappingFileLockException e) {
                LOG.debug("cannot remove {}: {}", lock, e.getMessage());
            }
            return;
        }
        if (delete(file)) {
            removed.add(file);
        }
    }

    /** Whether a process holds the claim lock (this one included). */
    private static boolean heldByAJob(Path lock) {
        if (!Files.isRegularFile(lock, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l == null) {
                return true;
            }
            l.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true;
        } catch (IOException e) {
            return true; // cannot tell: leave it
        }
    }

    /** Every file some process has open, by path (/proc/PID/fd). */
    static Set<String> openFiles() {
        Set<String> out = new HashSet<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : (Iterable<Path>) procs::iterator) {
                if (!proc.getFileName().toString().chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
                    fds.forEach(fd -> {
                        try {
                            out.add(Files.readSymbolicLink(fd).toString());
                        } catch (IOException | UnsupportedOperationException ignored) {
                            // gone, or not ours to read
                        }
                    });
                } catch (IOException ignored) {
                    // process gone or not readable
                }
            }
        } catch (IOException e) {
            LOG.debug("cannot list /proc: {}", e.getMessage());
        }
        return out;
    }

    private static String mounts() {
        try {
            return Files.readString(Path.of("/proc/self/mounts"));
        } catch (IOException e) {
            return "";
        }
    }

    private static boolean olderThan(Path p, Instant cutoff) {
        try {
            return Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff);
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean delete(Path p) {
        try {
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                FileTrees.delete(p);
            } else {
                Files.deleteIfExists(p);
            }
            return !Files.exists(p, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            LOG.debug("cannot remove {}: {}", p, e.getMessage());
            return false;
        }
    }
}
