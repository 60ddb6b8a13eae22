package io.guestflow.processors.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TempArtifactsTest {
    @TempDir
    Path tmp;

    private static Path old(Path p) throws Exception {
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minusSeconds(3600)));
        return p;
    }

    @Test
    void namesAndOwners() {
        assertThat(TempArtifacts.ownerOf(".web.qcow2.123456.part")).isEqualTo("web.qcow2");
        assertThat(TempArtifacts.ownerOf(".big.img.987.resizing")).isEqualTo("big.img");
        assertThat(TempArtifacts.ownerOf(".p.qcow2.0a1b2c3d.step1")).isEqualTo("p.qcow2");
        // a pipeline step's own partial file belongs to the pipeline's output
        assertThat(TempArtifacts.ownerOf("..p.qcow2.0a1b2c3d.step0.42.part")).isEqualTo("p.qcow2");
        assertThat(TempArtifacts.ownerOf(".p.qcow2.guestflow-lock")).isEqualTo("p.qcow2");
        assertThat(TempArtifacts.ownerOf("web.qcow2")).isNull();
        assertThat(TempArtifacts.ownerOf(".bashrc")).isNull();
    }

    @Test
    void whatKilledJobsLeftGoesWhatRunningJobsHoldStays() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("out/team"));
        Path scratch = Files.createDirectories(tmp.resolve("scratch"));
        Path deadPart = Files.write(out.resolve(".a.qcow2.111.part"), new byte[1]);
        Path deadResize = Files.write(out.resolve(".b.img.222.resizing"), new byte[1]);
        Path deadStep = Files.write(out.resolve(".c.qcow2.0a1b2c3d.step0"), new byte[1]);
        Path staleLock = Files.write(out.resolve(".d.qcow2" + TempArtifacts.LOCK_SUFFIX), new byte[1]);
        Path finished = Files.write(out.resolve("a.qcow2"), new byte[1]);
        Path deadOverlay = old(Files.write(scratch.resolve("guestflow-sparsify-123.qcow2"), new byte[1]));
        Path deadDir = Files.createDirectories(scratch.resolve("guestflow-overlays-456"));
        Files.write(deadDir.resolve("overlay0.qcow2"), new byte[1]);
        old(deadDir);
        Path deadRemote = Files.createDirectories(scratch.resolve("guestflow-remote-789"));
        Files.write(deadRemote.resolve("disk.qcow2"), new byte[1]);
        old(deadRemote);
        Path heldRemote = Files.createDirectories(scratch.resolve("guestflow-remote-790"));
        old(heldRemote);
        Path young = Files.write(scratch.resolve("guestflow-sparsify-789.qcow2"), new byte[1]);
        Path heldOverlay = old(Files.write(scratch.resolve("guestflow-sparsify-999.qcow2"), new byte[1]));
        Path someoneElses = old(Files.write(scratch.resolve("notes.txt"), new byte[1]));
        try (OutputClaim running = OutputClaim.acquire("running", out.resolve("e.qcow2"), false);
             FileChannel held = FileChannel.open(heldOverlay, StandardOpenOption.READ);
             FileChannel heldDir = FileChannel.open(heldRemote.resolve(TempArtifacts.HELD), StandardOpenOption.CREATE,
                     StandardOpenOption.WRITE)) {
            Path livePart = Files.write(out.resolve(".e.qcow2.333.part"), new byte[1]);
            Path liveStepPart = Files.write(out.resolve("..e.qcow2.0a1b2c3d.step0.4.part"), new byte[1]);
            List<Path> removed = TempArtifacts.sweep(tmp.resolve("out"), List.of(scratch));
            assertThat(removed).containsExactlyInAnyOrder(deadPart, deadResize, deadStep, staleLock, deadOverlay, deadDir,
                    deadRemote);
            assertThat(livePart).exists();
            assertThat(liveStepPart).exists();
            assertThat(OutputClaim.lockFile(out.resolve("e.qcow2"))).exists();
        }
        assertThat(finished).exists();
        assertThat(young).exists();
        assertThat(heldOverlay).exists();
        assertThat(heldRemote).exists();
        assertThat(someoneElses).exists();
    }
}
