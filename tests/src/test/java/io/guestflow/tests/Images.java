package io.guestflow.tests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
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

    /**
     * A small valid qcow2 made on the host, no appliance: 4 MiB of seeded random data converted by qemu-img, so
     * the image has data clusters (a truncated copy is damaged, not merely short).
     */
    static Path smallQcow2(Path target) {
        try {
            Path raw = Files.createTempFile(target.getParent(), "raw", ".img");
            byte[] data = new byte[4 << 20];
            new java.util.Random(42).nextBytes(data);
            Files.write(raw, data);
            VirtTool.run(Duration.ofMinutes(1), "qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2",
                    raw.toString(), target.toString()).orFail("qemu-img convert");
            Files.delete(raw);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
