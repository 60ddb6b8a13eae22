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
        Files.writeString(d.resolve("guestfsd.sock"), "");
        Files.setLastModifiedTime(d, FileTime.from(mtime));
        return d;
    }

    @Test
    void removesOldUnreferencedDirectoriesOnly() throws Exception {
        Instant old = Instant.now().minus(StaleDirSweeper.MIN_AGE).minusSeconds(60);
        Path stale = dir("libguestfsAbC123", old);
        Path fresh = dir("libguestfsNew456", Instant.now());
        Path other = dir("unrelated", old);
        // a directory a running process names on its command line is in use
        Path inUse = dir("libguestfsLive78", old);
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
        } finally {
            p.destroyForcibly();
            server.close();
        }
    }
}
