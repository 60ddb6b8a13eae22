package io.guestflow.pool;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Records the command lines of the qemu, qemu-img and qemu-io processes this
 * JVM starts (directly or through libguestfs) while it runs, read from /proc
 * every 20 ms, so that a test can assert what they were given (processes of
 * other JVMs on the host are not ours to judge). Shared (test-jar).
 */
public final class QemuCommandLines implements AutoCloseable {
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    private final Thread watcher;

    private QemuCommandLines() {
        watcher = new Thread(this::poll, "qemu-cmdline-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    public static QemuCommandLines watch() {
        return new QemuCommandLines();
    }

    /** The command lines seen so far, arguments joined by spaces. */
    public Set<String> seen() {
        return Set.copyOf(seen);
    }

    @Override
    public void close() {
        watcher.interrupt();
    }

    /** Whether this JVM is among the process's first ancestors. */
    private static boolean ours(long pid) {
        long me = ProcessHandle.current().pid();
        java.util.Optional<ProcessHandle> p = ProcessHandle.of(pid);
        for (int depth = 0; depth < 4 && p.isPresent(); depth++) {
            p = p.get().parent();
            if (p.isPresent() && p.get().pid() == me) {
                return true;
            }
        }
        return false;
    }

    private void poll() {
        while (!Thread.currentThread().isInterrupted()) {
            try (var procs = Files.list(Path.of("/proc"))) {
                procs.filter(p -> p.getFileName().toString().matches("\\d+")).forEach(p -> {
                    try {
                        String c = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8)
                                .replace('\0', ' ');
                        String exe = c.split(" ", 2)[0];
                        if ((exe.endsWith("qemu-img") || exe.endsWith("qemu-io") || exe.contains("qemu-system"))
                                && ours(Long.parseLong(p.getFileName().toString()))) {
                            seen.add(c);
                        }
                    } catch (IOException | RuntimeException ignored) {
                        // gone meanwhile
                    }
                });
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            } catch (IOException ignored) {
                // try again
            }
        }
    }
}
