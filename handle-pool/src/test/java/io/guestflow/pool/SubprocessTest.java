package io.guestflow.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner's deadline fires whatever the command prints or holds open, and
 * kills the command with every child it started; qemu-img on an image whose
 * data file is a FIFO (which blocks qemu-img's open forever) is the real case.
 */
class SubprocessTest {
    @TempDir
    Path dir;

    @Test
    void outputAndExitCodeOfACommandThatEnds() throws Exception {
        Subprocess.Result r = Subprocess.run(List.of("sh", "-c", "echo out; echo err >&2; exit 3"), Duration.ofSeconds(30));
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.stdout()).isEqualTo("out\n");
        assertThat(r.stderr()).isEqualTo("err\n");
        assertThat(r.firstLine()).isEqualTo("err");
    }

    @Test
    void aCommandThatNeverStopsPrintingIsKilledAtItsDeadline() {
        long t0 = System.nanoTime();
        Subprocess.TimedOut e = catchThrowableOfType(Subprocess.TimedOut.class,
                () -> Subprocess.run(List.of("yes"), Duration.ofMillis(700)));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("did not finish within 700 ms");
        assertThat(ms).as("the deadline fired although stdout never ended").isBetween(700L, 10_000L);
    }

    @Test
    void itsChildrenAreKilledToo() throws Exception {
        Path pids = dir.resolve("pids");
        // the child holds stdout open and would outlive its parent
        Subprocess.TimedOut e = catchThrowableOfType(Subprocess.TimedOut.class, () -> Subprocess.run(List.of("sh", "-c",
                "sleep 300 & echo $! > " + pids + "; sleep 300"), Duration.ofSeconds(1)));
        assertThat(e).isNotNull();
        assertThat(e.killed()).as("the shell and its sleep").isGreaterThanOrEqualTo(2);
        long child = Long.parseLong(Files.readString(pids).strip());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false)) {
            assertThat(System.nanoTime()).as("child %d still alive", child).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    @Test
    void anInterruptedCallerLeavesNoProcessBehind() throws Exception {
        Path pids = dir.resolve("pid");
        Thread caller = new Thread(() -> {
            try {
                Subprocess.run(List.of("sh", "-c", "echo $$ > " + pids + "; exec sleep 300"), Duration.ofMinutes(5));
            } catch (Exception ignored) {
                // interrupted: expected
            }
        });
        caller.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(pids) || Files.readString(pids).isBlank()) {
            assertThat(System.nanoTime()).isLessThan(deadline);
            Thread.sleep(20);
        }
        long pid = Long.parseLong(Files.readString(pids).strip());
        caller.interrupt();
        caller.join(10_000);
        assertThat(caller.isAlive()).isFalse();
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    }

    /** A qcow2 whose external data file is a FIFO: qemu-img check blocks opening it, for as long as nobody writes. */
    static Path qcow2WithFifoDataFile(Path dir) throws Exception {
        Path image = qcow2WithDataFile(dir);
        Path data = dir.resolve("data.raw");
        Files.delete(data);
        assertThat(Subprocess.run(List.of("mkfifo", data.toString()), Duration.ofSeconds(10)).exitCode()).isZero();
        return image;
    }

    private static Path qcow2WithDataFile(Path dir) throws Exception {
        Path image = dir.resolve("fifo-data.qcow2");
        Subprocess.Result r = Subprocess.run(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-o",
                "data_file=" + dir.resolve("data.raw"), image.toString(), "16M"), Duration.ofSeconds(30));
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        return image;
    }

    @Test
    void qemuImgOnAnImageWhoseDataFileIsAFifoIsKilledAtItsDeadline() throws Exception {
        Path image = qcow2WithFifoDataFile(dir);
        long t0 = System.nanoTime();
        Subprocess.TimedOut e = catchThrowableOfType(Subprocess.TimedOut.class, () -> Subprocess.run(
                List.of("qemu-img", "check", "-U", image.toString()), Duration.ofSeconds(2)));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("qemu-img check did not finish within 2 s");
        assertThat(ms).isBetween(2000L, 15_000L);
        assertThat(qemuImgChildren()).as("no qemu-img left running").isEmpty();
    }

    /**
     * The image policy refuses a FIFO data file before qemu-img runs
     * (ImageProbePolicyTest); a data file swapped for a FIFO between the
     * header walk and qemu-img's open (a qemu-img that does the swap first
     * stands for the race) still hangs qemu-img: the probe's deadline fires.
     */
    @Test
    void theImageProbeGivesUpAtItsDeadlineWhenTheDataFileTurnsIntoAFifoAfterItsCheck() throws Exception {
        Path image = qcow2WithDataFile(dir);
        ImagePolicy lax = ImagePolicy.defaults().withRoot(dir).withAllowed(java.util.Set.of("qcow2", "qcow2-data-file"));
        long t0 = System.nanoTime();
        GuestflowException e = catchThrowableOfType(GuestflowException.class,
                () -> new ImageProbe(swappingQemuImg(), lax, Duration.ofSeconds(2)).inspect(image, null, false));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(e).isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.DISK_UNREADABLE);
        assertThat(e.getMessage()).contains(image.toString()).contains("did not finish within 2 s");
        assertThat(ms).isBetween(2000L, 15_000L);
        assertThat(qemuImgChildren()).as("no qemu-img left running").isEmpty();
    }

    @Test
    void imageFactsGiveUpAtTheirDeadlineToo() throws Exception {
        Path image = qcow2WithDataFile(dir);
        ImagePolicy lax = ImagePolicy.defaults().withRoot(dir).withAllowed(java.util.Set.of("qcow2", "qcow2-data-file"));
        GuestflowException e = catchThrowableOfType(GuestflowException.class,
                () -> new ImageFacts(swappingQemuImg(), new ImageProbe(lax), Duration.ofSeconds(1))
                        .of(image, null, false, true));
        assertThat(e).isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.DISK_UNREADABLE);
        assertThat(e.getMessage()).contains("did not finish within 1 s");
        assertThat(qemuImgChildren()).as("no qemu-img left running").isEmpty();
    }

    /** qemu-img, after turning this folder's data.raw into a FIFO: the race between a check and qemu's open. */
    private String swappingQemuImg() throws Exception {
        Path script = dir.resolve("qemu-img-swapping");
        Path data = dir.resolve("data.raw");
        Files.writeString(script, "#!/bin/sh\nrm -f '" + data + "' && mkfifo '" + data + "'\nexec qemu-img \"$@\"\n");
        assertThat(script.toFile().setExecutable(true)).isTrue();
        return script.toString();
    }

    private static List<ProcessHandle> qemuImgChildren() {
        return ProcessHandle.current().descendants()
                .filter(p -> p.info().command().orElse("").contains("qemu-img")).toList();
    }

    /**
     * The backstop: the command runs under coreutils' timeout, which kills it
     * a few seconds after its deadline even when this JVM was SIGKILLed first.
     */
    @Test
    void theCommandRunsUnderABackstopThatOutlivesTheJvm() throws Exception {
        Subprocess.Result r = Subprocess.run(List.of("sh", "-c", "tr '\\0' ' ' < /proc/$PPID/cmdline"), Duration.ofSeconds(30));
        assertThat(r.stdout()).as("the parent of the command").startsWith("/usr/bin/timeout -s KILL 35s ");
        java.io.IOException e = catchThrowableOfType(java.io.IOException.class,
                () -> Subprocess.run(List.of("no-such-command-here"), Duration.ofSeconds(5)));
        assertThat(e).as("a missing command is an IOException, as without the backstop").isNotNull();
    }
}
