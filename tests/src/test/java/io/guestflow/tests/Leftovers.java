package io.guestflow.tests;

import io.guestflow.pool.HostInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** What a test run must not leave behind: qemu processes of this JVM, libguestfs temporary directories. */
public final class Leftovers {
    private Leftovers() {
    }

    /** qemu processes started by this JVM (children or deeper) that are still alive. */
    public static List<ProcessHandle> qemuChildren() {
        List<ProcessHandle> out = new ArrayList<>();
        ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).forEach(p -> {
            // the executable, not the command line: a wrapper script named qemu-system-* (bench/suite-times's
            // LIBGUESTFS_HV) and the subshells it forks are not appliances
            String exe = p.info().command().orElse(null);
            boolean qemu = exe != null ? exe.contains("qemu-system")
                    : HostInfo.commandLine(p).orElse("").contains("qemu-system");
            if (qemu) {
                out.add(p);
            }
        });
        return out;
    }

    /**
     * Fails when a /tmp/libguestfs* directory that was not there {@code before}
     * is still there, unnamed by any live process, after a few seconds. Test
     * JVMs run side by side, so directories of another JVM's appliance come
     * and go meanwhile: while a launch of theirs runs, its qemu names its
     * directory (or the directory is gone a moment later); one this JVM leaked
     * stays, named by nobody.
     */
    public static void assertNoLibguestfsDirsLeft(List<Path> before) {
        List<Path> left = List.of();
        for (int round = 0; round < 4; round++) {
            String named = String.join("\n", HostInfo.commandLines());
            left = libguestfsTmpDirs().stream().filter(d -> !before.contains(d))
                    .filter(d -> !named.contains(d.toString())).toList();
            if (left.isEmpty()) {
                return;
            }
            try {
                Thread.sleep(3000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw new AssertionError("/tmp/libguestfs* left behind: " + left);
    }

    /** /tmp/libguestfs* directories (sockets, tmpdirs) present now. */
    public static List<Path> libguestfsTmpDirs() {
        try (Stream<Path> s = Files.list(Path.of("/tmp"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("libguestfs")).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Entries under the pool's handle directory (each handle's private tmpdir). */
    public static List<Path> handleDirs(Path poolTmp) {
        if (!Files.isDirectory(poolTmp)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(poolTmp)) {
            return s.toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
