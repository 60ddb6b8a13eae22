package io.guestflow.processors.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.guestflow.pool.Drive;
import io.guestflow.pool.FileTrees;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The commit of an overlay on real images (qemu-img and qemu-io, no
 * appliance): what a guest trimmed becomes holes in the disk, at the disk's
 * own granularity, and nothing the guest did not write becomes allocated —
 * where a plain {@code qemu-img commit} writes partly changed 64 KiB chunks as
 * data, zeroes and former holes included.
 */
class DiskOverlaysCommitTest {
    private static final long M = 1L << 20;
    private Path dir;

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("overlay-commit");
    }

    @AfterEach
    void tearDown() throws Exception {
        FileTrees.delete(dir);
    }

    @ParameterizedTest
    @ValueSource(strings = {"raw", "qcow2"})
    void trimsBecomeHolesAndNothingElseGetsAllocated(String format) throws Exception {
        Path disk = dir.resolve("disk." + format);
        Path expected = dir.resolve("expected." + format);
        DiskOverlays.qemu("qemu-img", null, "create", "-q", "-f", format, disk.toString(), "64M");
        io(format, disk, "write -P 0xab 0 1M", "write -P 0xcd 8M 8K");
        ByteRanges before = ImageMap.read(disk, format).hostSpace();
        Files.copy(disk, expected);

        try (DiskOverlays overlays = new DiskOverlays(List.of(new Drive(disk.toUri(), format, false, null)), true)) {
            Path overlay = overlays.drives().get(0).path();
            // what a guest does: trims half of the data at 8M and the free space after it (a hole in the disk),
            // writes a block of zeroes and a block of data into holes
            io("qcow2", overlay, "discard 8M 4K", "discard 8200K 1016K", "write -P 0 32M 256K", "write -P 0x22 40M 4K");
            overlays.commit();
        }
        io(format, expected, "write -z 8M 4K", "write -P 0x22 40M 4K");

        assertThat(DiskOverlays.qemu("qemu-img", null, "compare", "-f", format, "-F", format, disk.toString(),
                expected.toString())).contains("identical");
        ByteRanges after = ImageMap.read(disk, format).hostSpace();
        long unit = format.equals("raw") ? ImageMap.RAW_BLOCK : 64 << 10;
        // the data at 8M that was not trimmed, the new block at 40M, each in the disk's units; nothing else new
        ByteRanges expectedSpace = ByteRanges.of(List.of(new ByteRanges.Range(0, M),
                new ByteRanges.Range(8 * M + 4096, 8 * M + 8192), new ByteRanges.Range(40 * M, 40 * M + 4096))).roundOut(unit);
        assertThat(after).as("host space of the %s disk, which held %s before", format, before).isEqualTo(expectedSpace);
    }

    private static void io(String format, Path image, String... commands) {
        DiskOverlays.qemu("qemu-io", String.join("\n", commands) + "\n", "-f", format, image.toString());
    }
}
