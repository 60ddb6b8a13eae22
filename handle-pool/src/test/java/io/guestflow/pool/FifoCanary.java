package io.guestflow.pool;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A FIFO that tells whether anything opened it: a thread waits to open its
 * writing end, which returns only once a reader opened the other end (the
 * reader then sees end-of-file at once, so nothing hangs on it). Closing the
 * canary opens the reading end itself if nobody did. Shared with the tests
 * module (test-jar).
 */
public final class FifoCanary implements AutoCloseable {
    private final Path fifo;
    private final CompletableFuture<Boolean> opened;

    public FifoCanary(Path fifo) throws Exception {
        this.fifo = fifo;
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("mkfifo " + fifo + " failed");
        }
        opened = CompletableFuture.supplyAsync(() -> {
            try (FileOutputStream ignored = new FileOutputStream(fifo.toFile())) {
                return true;
            } catch (IOException e) {
                return false;
            }
        });
    }

    public Path fifo() {
        return fifo;
    }

    /** Whether a reader has opened the FIFO by now. */
    public boolean wasOpened() throws InterruptedException {
        Thread.sleep(20);
        return opened.isDone();
    }

    @Override
    public void close() throws Exception {
        if (!opened.isDone()) {
            try (FileInputStream ignored = new FileInputStream(fifo.toFile())) {
                opened.get(5, TimeUnit.SECONDS);
            }
        }
    }
}
