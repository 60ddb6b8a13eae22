package io.guestflow.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

/** Runs qemu-img to build a test image and fails the test with its output when it fails. Shared (test-jar). */
public final class QemuImgRun {
    private QemuImgRun() {
    }

    public static void qemuImg(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "qemu-img";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("qemu-img %s: %s", String.join(" ", args), out).isZero();
    }
}
