package io.guestflow.tests;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One file exported by {@code qemu-nbd} on a loopback port for as long as
 * the test holds it (persistent, up to 8 clients), as a remote disk the
 * engine opens over NBD; closing stops qemu-nbd.
 */
final class NbdExport implements AutoCloseable {
    private final Process process;
    private final int port;
    private final String name;

    private NbdExport(Process process, int port, String name) {
        this.process = process;
        this.port = port;
        this.name = name;
    }

    /**
     * Exports {@code file}, read in {@code format} (the export itself is the
     * guest's raw bytes), as {@code name}; qemu-nbd's output goes to {@code log}.
     */
    static NbdExport start(Path file, String format, boolean readOnly, String name, Path log) throws Exception {
        int port = FreePort.get();
        List<String> cmd = new ArrayList<>(List.of("qemu-nbd", "--persistent", "--shared=8", "--format=" + format,
                "--bind=127.0.0.1", "--port=" + port, "--export-name=" + name));
        if (readOnly) {
            cmd.add("--read-only");
        }
        cmd.add(file.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        NbdExport export = new NbdExport(p, port, name);
        try {
            export.awaitListening();
        } catch (Throwable t) {
            export.close();
            throw t;
        }
        return export;
    }

    /** The export's URI, {@code nbd://127.0.0.1:PORT/NAME}. */
    String uri() {
        return "nbd://127.0.0.1:" + port + "/" + name;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    private void awaitListening() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                return;
            } catch (IOException e) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError("qemu-nbd does not listen on " + port, e);
                }
                Thread.sleep(100);
            }
        }
    }

    /** Stops qemu-nbd and waits for it to exit (killed after 10 s). */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
