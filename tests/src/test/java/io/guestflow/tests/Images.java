package io.guestflow.tests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;

/** Host-side facts about image files for the tests. */
final class Images {
    private Images() {
    }

    /** Bytes the host has allocated for the file (st_blocks × 512). */
    static long allocated(Path file) {
        VirtTool.Result r = VirtTool.run(Duration.ofMinutes(1), "stat", "-c", "%b %B", file.toString()).orFail("stat");
        String[] f = r.stdout().strip().split(" ");
        return Long.parseLong(f[0]) * Long.parseLong(f[1]);
    }

    /** A copy that keeps the source's holes, so allocation comparisons start equal. */
    static Path sparseCopy(Path from, Path to) {
        VirtTool.run(Duration.ofMinutes(5), "cp", "--sparse=always", from.toString(), to.toString()).orFail("cp");
        // written back now: ext4 counts its extent blocks in st_blocks only after writeback,
        // which would otherwise shift the "before" size by a block between two measurements
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(to, java.nio.file.StandardOpenOption.WRITE)) {
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("copy of " + from + " to " + to, e);
        }
        return to;
    }
}
