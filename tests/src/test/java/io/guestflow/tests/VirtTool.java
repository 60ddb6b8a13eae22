package io.guestflow.tests;

import io.guestflow.pool.Acceleration;
import io.guestflow.pool.AccelerationProbe;
import io.guestflow.pool.PoolConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the reference virt tools (virt-inspector, virt-sysprep, virt-sparsify,
 * virt-resize, virt-filesystems, guestfish) as the oracle of differential
 * tests. They are plain CLI tools: they are told what our probe found about
 * KVM on this host, since they would otherwise try KVM and fail.
 */
public final class VirtTool {

    /** How a tool exited and what it printed. */
    public record Result(int exitCode, String stdout, String stderr) {
        /** This result, or an assertion error with the tool's stderr when it failed. */
        public Result orFail(String what) {
            if (exitCode != 0) {
                throw new AssertionError(what + " exited " + exitCode + ": " + stderr);
            }
            return this;
        }
    }

    private VirtTool() {
    }

    public static Result run(Duration timeout, String... command) {
        return run(timeout, List.of(command));
    }

    public static Result run(Duration timeout, List<String> command) {
        Path tmp = null;
        try {
            tmp = Files.createTempDirectory("virt-tool");
            ProcessBuilder pb = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            if (AccelerationProbe.decide(Acceleration.AUTO, PoolConfig.defaults()).acceleration() == Acceleration.TCG) {
                pb.environment().put("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg");
            }
            pb.redirectOutput(tmp.resolve("out").toFile()).redirectError(tmp.resolve("err").toFile());
            Process proc = pb.start();
            if (!proc.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                proc.descendants().forEach(ProcessHandle::destroyForcibly);
                proc.destroyForcibly();
                throw new IllegalStateException(command.get(0) + " did not finish within " + timeout);
            }
            return new Result(proc.exitValue(), Files.readString(tmp.resolve("out")), Files.readString(tmp.resolve("err")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            if (tmp != null) {
                try {
                    io.guestflow.pool.FileTrees.delete(tmp);
                } catch (IOException ignored) {
                    // a temp dir of two small files; nothing else to do
                }
            }
        }
    }

    /** {@code tool --version}, part of every oracle cache key. */
    public static String version(String tool) {
        return run(Duration.ofMinutes(1), tool, "--version").stdout().strip();
    }

    /** A stable cache key for strings (recipe versions, content hashes, options). */
    public static String key(String... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String p : parts) {
                md.update(p.getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
