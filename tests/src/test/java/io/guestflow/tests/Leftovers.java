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
