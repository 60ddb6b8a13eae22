package io.guestflow.processors.job;

import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A job's exclusive hold on its output path for the job's whole duration: a
 * lock on {@code .<name>.guestflow-lock} beside the output (released by the
 * kernel when the holder dies, so a killed engine never blocks an output).
 * A second job on the same output, in this process or another one sharing
 * the folder, is REJECTED while the first holds it. Taking the claim also
 * refuses an existing output unless the job says {@code overwrite}, and
 * {@link #publish} never replaces a file without it, so two jobs writing the
 * same output cannot both succeed.
 */
public final class OutputClaim implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OutputClaim.class);
    /** Mode of a new output unless configured ({@code guestflow.engine.output-mode}). */
    public static final Set<PosixFilePermission> DEFAULT_MODE = PosixFilePermissions.fromString("rw-r--r--");

    private final Path output;
    private final Path lockFile;
    private final FileChannel channel;
    private final FileLock lock;
    /** The replaced file's mode, which the new output keeps; null when there was none. */
    private final Set<PosixFilePermission> previousMode;

    private OutputClaim(Path output, Path lockFile, FileChannel channel, FileLock lock, Set<PosixFilePermission> previousMode) {
        this.output = output;
        this.lockFile = lockFile;
        this.channel = channel;
        this.lock = lock;
        this.previousMode = previousMode;
    }

    /** The lock file of {@code output}. */
    public static Path lockFile(Path output) {
        return output.resolveSibling("." + output.getFileName() + TempArtifacts.LOCK_SUFFIX);
    }

    /**
     * Claims {@code output} for {@code jobId}.
     *
     * @throws JobRejectedException when another job holds it, or it exists and {@code overwrite} is false
     */
    public static OutputClaim acquire(String jobId, Path output, boolean overwrite) {
        Path abs = output.toAbsolutePath().normalize();
        Path lockFile = lockFile(abs);
        byte[] nonce = (jobId + " " + ProcessHandle.current().pid() + " " + UUID.randomUUID() + "\n")
                .getBytes(StandardCharsets.UTF_8);
        for (int attempt = 0; attempt < 20; attempt++) {
            FileChannel ch = null;
            try {
                ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                FileLock l;
                try {
                    l = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    l = null;
                }
                if (l == null) {
                    ch.close();
                    throw new JobRejectedException(jobId, "output " + abs + " is being written by another job; it was"
                            + " left alone (" + holder(lockFile) + ")");
                }
                // the holder before us deletes the file before it lets go: make sure ours is the one at the path
                ch.truncate(0);
                ch.write(ByteBuffer.wrap(nonce), 0);
                ch.force(false);
                byte[] there;
                try {
                    there = Files.readAllBytes(lockFile);
                } catch (NoSuchFileException e) {
                    there = null;
                }
                if (there == null || !java.util.Arrays.equals(there, nonce)) {
                    l.release();
                    ch.close();
                    continue;
                }
                Set<PosixFilePermission> mode = null;
                if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
                    if (!overwrite || !Files.isRegularFile(abs, LinkOption.NOFOLLOW_LINKS)) {
                        deleteAndRelease(lockFile, ch, l);
                        throw new JobRejectedException(jobId, "output " + abs + (overwrite ? " exists and is not a regular file"
                                : " exists; it is replaced only when the job says \"overwrite\": true in its output"
                                + " (--overwrite on the command line)"));
                    }
                    mode = Files.getPosixFilePermissions(abs, LinkOption.NOFOLLOW_LINKS);
                }
                return new OutputClaim(abs, lockFile, ch, l, mode);
            } catch (IOException e) {
                closeQuietly(ch);
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot write in the output folder " + abs.getParent()
                        + " (claiming " + abs.getFileName() + "): " + e.getMessage(), e);
            } catch (RuntimeException e) {
                closeQuietly(ch);
                throw e;
            }
        }
        throw new JobRejectedException(jobId, "output " + abs + " is contended by other jobs; it was left alone");
    }

    private static String holder(Path lockFile) {
        try {
            String s = Files.readString(lockFile).strip();
            String[] parts = s.split(" ");
            return parts.length >= 2 ? "job " + parts[0] + ", process " + parts[1] : "lock held";
        } catch (IOException e) {
            return "lock held";
        }
    }

    public Path output() {
        return output;
    }

    /** Whether an existing file is being replaced. */
    public boolean replaces() {
        return previousMode != null;
    }

    /**
     * Gives the finished output its mode: a replaced file's own mode, else {@code mode}.
     * Nothing when no output was written (a dry run).
     */
    public void finished(Set<PosixFilePermission> mode) {
        if (!Files.isRegularFile(output, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.setPosixFilePermissions(output, previousMode != null ? previousMode : mode);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.warn("cannot set the mode of {}: {}", output, e.getMessage());
        }
    }

    /**
     * Moves a finished temporary file beside the output to the output's name:
     * atomically, and without replacing a file that is there unless
     * {@code overwrite} (a hard link fails when the name exists).
     */
    public static void publish(Path partial, Path output, boolean overwrite) throws IOException {
        if (overwrite) {
            Files.move(partial, output, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return;
        }
        try {
            Files.createLink(output, partial);
        } catch (FileAlreadyExistsException e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "output " + output + " appeared while the job ran;"
                    + " it was not replaced (set \"overwrite\": true to replace it)");
        } catch (UnsupportedOperationException | IOException e) {
            // a file system without hard links: the claim keeps other jobs away; check, then rename
            if (Files.exists(output, LinkOption.NOFOLLOW_LINKS)) {
                throw new GuestflowException(ErrorCode.OPERATION_FAILED, "output " + output + " appeared while the job"
                        + " ran; it was not replaced");
            }
            Files.move(partial, output, StandardCopyOption.ATOMIC_MOVE);
            return;
        }
        Files.delete(partial);
    }

    @Override
    public void close() {
        deleteAndRelease(lockFile, channel, lock);
    }

    private static void deleteAndRelease(Path lockFile, FileChannel ch, FileLock l) {
        try {
            Files.deleteIfExists(lockFile); // while still holding the lock: see acquire
        } catch (IOException e) {
            LOG.debug("cannot remove {}: {}", lockFile, e.getMessage());
        }
        try {
            l.release();
        } catch (IOException e) {
            LOG.debug("cannot release {}: {}", lockFile, e.getMessage());
        }
        closeQuietly(ch);
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing a lock file
            }
        }
    }
}
