package io.guestflow.pool;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Small facts about the host read from /proc. */
public final class HostInfo {
    private HostInfo() {
    }

    /** MemAvailable in MiB, or -1 when /proc/meminfo cannot be read. */
    static long memAvailableMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return -1;
    }

    /**
     * Processes whose command line contains {@code needle}: how a handle finds
     * its qemu before {@code get_pid} can be asked (during launch), by its
     * private temporary directory.
     */
    /** The paths of open unix sockets (/proc/net/unix), one per line; empty when unreadable. */
    static String openUnixSockets() {
        try {
            return Files.readString(Path.of("/proc/net/unix"));
        } catch (IOException e) {
            return "";
        }
    }

    /** A process's full command line from /proc (NUL-separated), empty when it ended or is not ours to read. */
    public static java.util.Optional<String> commandLine(ProcessHandle p) {
        try {
            return java.util.Optional.of(new String(Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "cmdline")),
                    StandardCharsets.UTF_8));
        } catch (IOException | SecurityException e) {
            return java.util.Optional.empty();
        }
    }

    /** The command lines of every process on the host. */
    public static List<String> commandLines() {
        return ProcessHandle.allProcesses().map(HostInfo::commandLine).flatMap(java.util.Optional::stream).toList();
    }

    static List<ProcessHandle> processesMentioning(String needle) {
        return ProcessHandle.allProcesses().filter(p -> commandLine(p).orElse("").contains(needle)).toList();
    }
}
