package io.guestflow.pool;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Runs a command with a deadline that fires whatever the command prints or
 * holds open: stdout and stderr are drained on their own threads (each kept
 * up to {@link #MAX_CAPTURE} bytes, the rest read and dropped), the caller
 * only waits for the exit. At the deadline, or when the calling thread is
 * interrupted, the process and every descendant it has are killed. Stdin is
 * {@code /dev/null}. The command runs under coreutils' {@code timeout} with a
 * deadline a few seconds later, so it dies even when this JVM is killed
 * (SIGKILL) before it could kill it.
 */
public final class Subprocess {
    /** Bytes kept of each stream. */
    public static final int MAX_CAPTURE = 16 * 1024 * 1024;
    private static final ExecutorService READERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "guestflow-subprocess-reader");
        t.setDaemon(true);
        return t;
    });

    /** coreutils' timeout, when the host has it. */
    private static final String TIMEOUT = Files.isExecutable(Path.of("/usr/bin/timeout")) ? "/usr/bin/timeout" : null;
    private static final long BACKSTOP_SECONDS = 5;

    private Subprocess() {
    }

    /** How a finished command ended. */
    public record Result(int exitCode, String stdout, String stderr) {
        /** The first line of stderr (of stdout when stderr is empty), for messages. */
        public String firstLine() {
            String t = (stderr.isBlank() ? stdout : stderr).strip();
            int nl = t.indexOf('\n');
            return nl < 0 ? t : t.substring(0, nl);
        }
    }

    /** The deadline passed: the process and its children were killed. */
    public static final class TimedOut extends RuntimeException {
        private final int killed;

        TimedOut(String message, int killed) {
            super(message);
            this.killed = killed;
        }

        /** Processes killed: the command and its descendants. */
        public int killed() {
            return killed;
        }
    }

    /**
     * Runs {@code cmd} and returns once it exited.
     *
     * @throws IOException          the command cannot be started
     * @throws TimedOut             it ran longer than {@code timeout}; it and its children were killed
     * @throws InterruptedException the caller was interrupted; it and its children were killed
     */
    public static Result run(List<String> cmd, Duration timeout) throws IOException, InterruptedException {
        return run(cmd, null, timeout);
    }

    /**
     * Runs {@code cmd} with {@code stdin} (null: none) as its standard input and returns once it exited.
     *
     * @throws IOException          the command cannot be started
     * @throws TimedOut             it ran longer than {@code timeout}; it and its children were killed
     * @throws InterruptedException the caller was interrupted; it and its children were killed
     */
    public static Result run(List<String> cmd, String stdin, Duration timeout) throws IOException, InterruptedException {
        List<String> full = cmd;
        if (TIMEOUT != null) {
            // a backstop that outlives us: if this JVM is SIGKILLed, nobody kills the command at its deadline
            // (a qemu-img blocked on a FIFO would stay forever); coreutils' timeout does, a few seconds later
            full = new ArrayList<>(List.of(TIMEOUT, "-s", "KILL", (timeout.toSeconds() + BACKSTOP_SECONDS) + "s"));
            full.addAll(cmd);
        }
        ProcessBuilder pb = new ProcessBuilder(full);
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        Process p = pb.start();
        Future<byte[]> out = READERS.submit(() -> drain(p.getInputStream()));
        Future<byte[]> err = READERS.submit(() -> drain(p.getErrorStream()));
        if (stdin != null) {
            // fed on a thread of its own, so that a command that reads nothing cannot hold us past the deadline
            READERS.submit(() -> {
                try (var in = p.getOutputStream()) {
                    in.write(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                } catch (IOException e) {
                    // it exited or closed its input: its exit code says the rest
                }
                return null;
            });
        }
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                int killed = killTree(p);
                throw new TimedOut(cmd.get(0) + " " + (cmd.size() > 1 ? cmd.get(1) + " " : "") + "did not finish within "
                        + human(timeout) + "; killed it" + (killed > 1 ? " and " + (killed - 1) + " child process(es)" : ""),
                        killed);
            }
        } catch (InterruptedException e) {
            killTree(p);
            throw e;
        }
        Result r = new Result(p.exitValue(), text(out), text(err));
        if (TIMEOUT != null && r.exitCode() == 127 && r.stderr().contains("timeout: failed to run command")) {
            throw new IOException(r.firstLine());
        }
        return r;
    }

    /** Kills {@code p} and its descendants; returns how many were alive to kill. */
    public static int killTree(Process p) {
        List<ProcessHandle> kids = p.descendants().toList();
        int n = p.isAlive() ? 1 : 0;
        // children first, so none is re-parented away from us while it lives; then the command itself
        for (ProcessHandle k : kids) {
            if (k.destroyForcibly()) {
                n++;
            }
        }
        p.destroyForcibly();
        // anything it started in the meantime
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        try {
            p.onExit().get(10, TimeUnit.SECONDS);
            for (ProcessHandle k : kids) {
                k.onExit().get(5, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            // they were SIGKILLed; the exit is the kernel's business now
        }
        return n;
    }

    private static byte[] drain(InputStream in) throws IOException {
        ByteArrayOutputStream kept = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try (in) {
            for (int n; (n = in.read(buf)) >= 0; ) {
                int room = MAX_CAPTURE - kept.size();
                if (room > 0) {
                    kept.write(buf, 0, Math.min(n, room));
                }
            }
        }
        return kept.toByteArray();
    }

    /** What a reader got; a grandchild still holding the pipe after the exit gets 2 s, then we take what is there. */
    private static String text(Future<byte[]> f) {
        try {
            return new String(f.get(2, TimeUnit.SECONDS), StandardCharsets.UTF_8);
        } catch (Exception e) {
            f.cancel(true);
            return "";
        }
    }

    private static String human(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
