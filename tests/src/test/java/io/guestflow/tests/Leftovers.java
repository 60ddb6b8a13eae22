package io.guestflow.tests;

import io.guestflow.pool.HostInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** What a test run must not leave behind: qemu processes of this JVM, libguestfs temporary directories. */
public final class Leftovers {
    /**
     * Socket directories of appliances whose engine a test SIGKILLed on
     * purpose (EngineRestartTest, FaultSuiteTest): a killed process cannot
     * remove them, and they stay until a restarted engine or the test sweeps
     * them. One file for every test JVM of the run, so that the other JVM's
     * check does not take them for a leak.
     */
    private static final Path KILLED_DIRS = Path.of(System.getProperty("guestflow.repo", ".."), "tests", "target",
            "killed-appliance-dirs.txt");
    private static final Pattern SOCK_DIR = Pattern.compile("/tmp/libguestfs[A-Za-z0-9]+");

    private Leftovers() {
    }

    /**
     * Notes the socket directories of {@code engine}'s appliances (named on
     * their qemu's command lines) as left on purpose; call it right before
     * SIGKILLing the engine. Returns them.
     */
    public static List<Path> expectDebrisOfKilling(ProcessHandle engine) {
        List<String> dirs = engine.descendants().flatMap(p -> SOCK_DIR.matcher(HostInfo.commandLine(p).orElse(""))
                .results().map(m -> m.group())).distinct().toList();
        if (!dirs.isEmpty()) {
            try {
                Files.createDirectories(KILLED_DIRS.getParent());
                Files.writeString(KILLED_DIRS, String.join("\n", dirs) + "\n", StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return dirs.stream().map(Path::of).toList();
    }

    private static Set<Path> killedDirs() {
        try {
            return Files.readAllLines(KILLED_DIRS).stream().filter(l -> !l.isBlank()).map(Path::of)
                    .collect(Collectors.toSet());
        } catch (IOException e) {
            return Set.of();
        }
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
            Set<Path> killed = killedDirs();
            left = libguestfsTmpDirs().stream().filter(d -> !before.contains(d))
                    .filter(d -> !named.contains(d.toString())).filter(d -> !killed.contains(d)).toList();
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
