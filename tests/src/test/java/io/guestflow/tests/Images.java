package io.guestflow.tests;

import io.guestflow.processors.job.ByteRanges;
import io.guestflow.processors.job.ImageMap;
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

    /** SHA-256 (hex) of {@code length} bytes of {@code file} from {@code offset}. */
    static String sha256(Path file, long offset, long length) {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(file.toFile(), "r")) {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            f.seek(offset);
            for (long left = length; left > 0; ) {
                int n = f.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    break;
                }
                md.update(buf, 0, n);
                left -= n;
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A copy that keeps the source's holes, so allocation comparisons start equal. */
    static Path sparseCopy(Path from, Path to) {
        VirtTool.run(Duration.ofMinutes(5), "cp", "--sparse=always", from.toString(), to.toString()).orFail("cp");
        return writtenBack(to);
    }

    /**
     * {@code file}, written back to disk: ext4 counts its extent blocks in st_blocks only after writeback,
     * which would otherwise shift a "before" size by a block between two measurements.
     */
    static Path writtenBack(Path file) {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("writing back " + file, e);
        }
        return file;
    }

    /**
     * How many L2 tables a qcow2 image has: the non-zero entries of its L1 table (header: l1_size at byte 36,
     * l1_table_offset at 40, big-endian). qemu allocates one, a cluster, for every region of the disk that
     * gets a cluster or a discard.
     */
    static long qcow2L2Tables(Path image) {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(image)) {
            java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(48);
            ch.read(header, 0);
            int l1Size = header.getInt(36);
            long l1Offset = header.getLong(40);
            java.nio.ByteBuffer l1 = java.nio.ByteBuffer.allocate(l1Size * 8);
            while (l1.hasRemaining() && ch.read(l1, l1Offset + l1.position()) > 0) {
                // read it all
            }
            long tables = 0;
            for (int i = 0; i < l1Size; i++) {
                if ((l1.getLong(i * 8) & 0x00fffffffffffe00L) != 0) {
                    tables++;
                }
            }
            return tables;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Where the file itself (whatever its format) holds host blocks: its data extents, read as a raw file. */
    static ByteRanges blocks(Path file) {
        return ImageMap.read(file, "raw").hostSpace();
    }
}
