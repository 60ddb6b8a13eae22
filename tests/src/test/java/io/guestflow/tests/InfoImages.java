package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.guestflow.pool.Subprocess;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Small images for info jobs, made with qemu-img in a second each: no guest, no appliance. */
final class InfoImages {
    private InfoImages() {
    }

    static Path qcow2(Path dir, String name) throws Exception {
        Path p = dir.resolve(name);
        run("qemu-img", "create", "-q", "-f", "qcow2", p.toString(), "64M");
        return p;
    }

    static Path raw(Path dir, String name) throws Exception {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(1024 * 1024);
        }
        return p;
    }

    /** A qcow2 cut in half: qemu-img cannot open it. */
    static Path truncated(Path dir, String name) throws Exception {
        Path p = qcow2(dir, name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(100);
        }
        return p;
    }

    /** A qcow2 whose external data file is a FIFO: qemu-img blocks opening it until its deadline. */
    private static void run(String... cmd) throws Exception {
        Subprocess.Result r = Subprocess.run(List.of(cmd), Duration.ofSeconds(60));
        assertThat(r.exitCode()).as(String.join(" ", cmd) + ": " + r.stderr()).isZero();
    }
}
