package io.guestflow.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StaleDirSweeperTest {
    @TempDir
    Path tmp;

    private Path dir(String name, Instant mtime) throws Exception {
        Path d = Files.createDirectory(tmp.resolve(name));
        Files.setLastModifiedTime(d, FileTime.from(mtime));
        return d;
    }

    /** A socket directory as a killed appliance leaves it: the socket file stays, nobody listens. */
    private Path deadSocketDir(String name, Instant mtime) throws Exception {
        Path d = Files.createDirectory(tmp.resolve(name));
        java.nio.channels.ServerSocketChannel dead = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX);
        dead.bind(java.net.UnixDomainSocketAddress.of(d.resolve("guestfsd.sock")));
        dead.close();
        Files.setLastModifiedTime(d, FileTime.from(mtime));
        return d;
    }

    @Test
    void removesOldUnreferencedDirectoriesOnly() throws Exception {
        Instant old = Instant.now().minus(StaleDirSweeper.MIN_AGE).minusSeconds(60);
        // a socket directory whose process died: the socket file is still there, nobody listens
        Path stale = deadSocketDir("libguestfsAbC123", old);
        // a virt tool's temporary directory: no sockets, nothing names it, yet it may be in use right now
        Path toolTmp = dir("libguestfsTool12", old);
        Files.writeString(toolTmp.resolve("find0.tmp"), "x");
        Files.setLastModifiedTime(toolTmp, FileTime.from(old));
        Path fresh = deadSocketDir("libguestfsNew456", Instant.now());
        Path other = deadSocketDir("unrelated", old);
        // a directory a running process names on its command line is in use
        Path inUse = deadSocketDir("libguestfsLive78", old);
        Process p = new ProcessBuilder("sh", "-c", "sleep 30", "holder", inUse.toString()).start();
        // a directory holding a bound unix socket belongs to a live handle
        Path withSocket = dir("libguestfsSock90", old);
        java.nio.channels.ServerSocketChannel server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX);
        server.bind(java.net.UnixDomainSocketAddress.of(withSocket.resolve("guestfsd2.sock")));
        Files.setLastModifiedTime(withSocket, FileTime.from(old));
        try {
            List<Path> removed = StaleDirSweeper.sweep(tmp, "libguestfs");
            assertThat(removed).containsExactly(stale);
            assertThat(stale).doesNotExist();
            assertThat(fresh).exists();
            assertThat(other).exists();
            assertThat(inUse).exists();
            assertThat(withSocket).exists();
            assertThat(toolTmp).exists();
        } finally {
            p.destroyForcibly();
            server.close();
        }
    }

    @Test
    void aHandleDirectoryIsStaleOnlyWhenNoProcessHoldsItsOwnerLock() throws Exception {
        Instant old = Instant.now().minus(StaleDirSweeper.MIN_AGE).minusSeconds(60);
        Path abandoned = dir("h-111", old);
        Files.writeString(abandoned.resolve(StaleDirSweeper.OWNER_LOCK), "");
        Files.setLastModifiedTime(abandoned, FileTime.from(old));
        Path held = dir("h-222", old);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(held.resolve(StaleDirSweeper.OWNER_LOCK),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
             java.nio.channels.FileLock ignored = ch.lock()) {
            Files.setLastModifiedTime(held, FileTime.from(old));
            // held by another JVM, as a live engine holds it (the path is passed in the environment,
            // so that the command-line rule does not keep the directory for another reason)
            Path heldElsewhere = dir("h-333", old);
            Files.writeString(heldElsewhere.resolve(StaleDirSweeper.OWNER_LOCK), "");
            ProcessBuilder pb = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                    "-cp", System.getProperty("java.class.path"), LockHolder.class.getName());
            pb.environment().put("LOCK_FILE", heldElsewhere.resolve(StaleDirSweeper.OWNER_LOCK).toString());
            Process p = pb.start();
            assertThat(new String(p.getInputStream().readNBytes(6))).isEqualTo("locked");
            Files.setLastModifiedTime(heldElsewhere, FileTime.from(old));
            try {
                assertThat(StaleDirSweeper.sweep(tmp, "h-")).containsExactly(abandoned);
                assertThat(held).exists();
            } finally {
                p.destroyForcibly();
            }
        }
    }

    /** Holds the owner lock named by LOCK_FILE until killed. */
    public static final class LockHolder {
        public static void main(String[] args) throws Exception {
            java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(Path.of(System.getenv("LOCK_FILE")),
                    java.nio.file.StandardOpenOption.WRITE);
            ch.lock();
            System.out.print("locked");
            System.out.flush();
            Thread.sleep(60_000);
        }
    }
}
