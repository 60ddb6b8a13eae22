package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.processors.inspect.InspectOperation;
import io.guestflow.processors.inspect.InspectOptions;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad images fail fast, before any appliance is launched, with a specific
 * code and message, and are left exactly as they were.
 */
class BadInputTest {
    private static HandlePool pool;

    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
    }

    @AfterAll
    static void tearDown() {
        assertThat(pool.metrics().launches()).as("no appliance may be launched for bad input").isZero();
        pool.close();
    }

    /** Runs an inspection and returns how it failed, checking it failed fast and left the file alone. */
    private GuestflowException rejected(Path image, String format) throws IOException {
        boolean exists = Files.exists(image);
        String sum = exists && Files.isRegularFile(image) && Files.isReadable(image) ? Fixtures.sha256(image) : null;
        FileTime mtime = exists ? Files.getLastModifiedTime(image) : null;
        long start = System.nanoTime();
        InspectOperation op = new InspectOperation(InspectOptions.defaults());
        GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> pool.run("bad-input",
                List.of(Drive.of(image.toString()).withFormat(format)), Duration.ofMinutes(1),
                GuestEventListener.NONE, h -> op.run(h.gfs())));
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertThat(e).as("inspection of %s should have been rejected", image).isNotNull();
        assertThat(ms).as("rejection must come before a launch").isLessThan(10_000);
        if (sum != null) {
            assertThat(Fixtures.sha256(image)).as("image content untouched").isEqualTo(sum);
        }
        if (mtime != null) {
            assertThat(Files.getLastModifiedTime(image)).as("image mtime untouched").isEqualTo(mtime);
        }
        assertThat(e.getMessage()).contains(image.toString());
        return e;
    }

    @Test
    void missingFile() throws IOException {
        GuestflowException e = rejected(dir.resolve("nope.qcow2"), null);
        assertThat(e.code()).isEqualTo(ErrorCode.DISK_NOT_FOUND);
        assertThat(e.getMessage()).contains("no such file");
    }

    @Test
    void unreadableFile() throws IOException {
        Assumptions.assumeFalse("root".equals(System.getProperty("user.name")), "root reads any file");
        Path p = dir.resolve("secret.img");
        Files.write(p, new byte[4096]);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("---------"));
        GuestflowException e = rejected(p, null);
        assertThat(e.code()).isEqualTo(ErrorCode.DISK_UNREADABLE);
        assertThat(e.getMessage()).contains("permission denied");
    }

    @Test
    void directoryIsNotADisk() throws IOException {
        Path p = Files.createDirectory(dir.resolve("adir"));
        GuestflowException e = rejected(p, null);
        assertThat(e.code()).isEqualTo(ErrorCode.DISK_UNREADABLE);
        assertThat(e.getMessage()).contains("not a regular file");
    }

    @Test
    void zeroLengthFile() throws IOException {
        Path p = Files.createFile(dir.resolve("empty.img"));
        GuestflowException e = rejected(p, null);
        assertThat(e.code()).isEqualTo(ErrorCode.DISK_EMPTY);
        assertThat(e.getMessage()).contains("zero-length");
    }

    @Test
    void truncatedQcow2() throws IOException {
        Path p = Images.smallQcow2(dir.resolve("truncated.qcow2"));
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        GuestflowException e = rejected(p, null);
        assertThat(e.code()).isEqualTo(ErrorCode.DISK_CORRUPT);
        assertThat(e.getMessage()).contains("damaged or truncated");
    }

    @Test
    void rawDeclaredForQcow2() throws IOException {
        Path p = Images.smallQcow2(dir.resolve("guest.qcow2"));
        GuestflowException e = rejected(p, "raw");
        assertThat(e.code()).isEqualTo(ErrorCode.FORMAT_MISMATCH);
        assertThat(e.getMessage()).contains("declared format raw").contains("content is qcow2");
    }

    @Test
    void qcow2DeclaredForRaw() throws IOException {
        Path p = dir.resolve("guest.img");
        Files.write(p, new byte[1024 * 1024]);
        GuestflowException e = rejected(p, "qcow2");
        assertThat(e.code()).isEqualTo(ErrorCode.FORMAT_MISMATCH);
        assertThat(e.getMessage()).contains("declared format qcow2");
    }

    @Test
    void qcow2WithBackingFileIsRefused() throws Exception {
        Path base = Images.smallQcow2(dir.resolve("base.qcow2"));
        Path overlay = dir.resolve("overlay.qcow2");
        Process p = new ProcessBuilder("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base.toString(),
                overlay.toString()).inheritIO().start();
        assertThat(p.waitFor()).isZero();
        GuestflowException e = rejected(overlay, null);
        assertThat(e.code()).isEqualTo(ErrorCode.BACKING_FILE_REFUSED);
        assertThat(e.getMessage()).contains("backing file").contains(base.toString());
    }

    @Test
    void unknownFormatNameIsRejectedWhenTheDriveIsBuilt() {
        GuestflowException e = catchThrowableOfType(GuestflowException.class,
                () -> Drive.of(dir.resolve("x.img").toString()).withFormat("qcow3"));
        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_DRIVE);
        assertThat(e.getMessage()).contains("unknown disk format 'qcow3'");
    }
}
