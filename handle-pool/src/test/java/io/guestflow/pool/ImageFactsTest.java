package io.guestflow.pool;

import static io.guestflow.pool.QemuImgRun.qemuImg;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The info job's facts go through the image policy: no qemu-img opens a file
 * the header walk has not vetted. What the policy refuses of the image itself
 * (a data file or extent outside the root, a FIFO) refuses it; a backing chain
 * is reported as far as the policy allows, and qemu-img check never opens a
 * backing file that was not followed. The files that must stay closed are
 * FIFOs ({@link FifoCanary}), so the tests tell whether anything opened them.
 */
class ImageFactsTest {
    @TempDir
    Path tmp;
    Path root;
    Path outside;
    ImageProbe probe;
    ImageFacts facts;

    @BeforeEach
    void setUp() throws IOException {
        root = Files.createDirectories(tmp.resolve("images"));
        outside = Files.createDirectories(tmp.resolve("elsewhere"));
        probe = new ImageProbe(ImagePolicy.defaults().withRoot(root));
        facts = new ImageFacts(probe, Duration.ofSeconds(30));
    }

    @Test
    void aPlainImageHasItsFactsAndItsCheck() throws Exception {
        Path img = root.resolve("a.qcow2");
        qemuImg("create", "-q", "-f", "qcow2", img.toString(), "64M");
        qemuImg("snapshot", "-c", "before-upgrade", img.toString());
        ImageFacts.Disk d = facts.of(img, null, false, true);
        assertThat(d.format()).isEqualTo("qcow2");
        assertThat(d.virtualSize()).isEqualTo(64L << 20);
        assertThat(d.clusterSize()).isEqualTo(65536L);
        assertThat(d.snapshots()).extracting(ImageFacts.Snapshot::name).containsExactly("before-upgrade");
        assertThat(d.check().result()).isEqualTo("clean");
        assertThat(d.backingFile()).isNull();
        assertThat(d.backingChain()).isNull();
    }

    @Test
    void aDataFileThePolicyRefusesIsNeverOpened() throws Exception {
        Path data = outside.resolve("data.fifo");
        Path img = root.resolve("df.qcow2");
        Files.write(data, new byte[0]);
        qemuImg("create", "-q", "-f", "qcow2", "-o", "data_file=" + data, img.toString(), "1M");
        Files.delete(data);
        try (FifoCanary canary = new FifoCanary(data)) {
            GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> facts.of(img, null, true, true));
            assertThat(e.code()).isEqualTo(ErrorCode.IMAGE_REFUSED);
            assertThat(e.getMessage()).contains("external data file");
            ImageFacts lax = new ImageFacts(new ImageProbe(probe.policy().withAllowed(Set.of("qcow2", "qcow2-data-file"))),
                    Duration.ofSeconds(30));
            GuestflowException e2 = catchThrowableOfType(GuestflowException.class, () -> lax.of(img, null, true, true));
            assertThat(e2.getMessage()).contains("outside the image root");
            assertThat(canary.wasOpened()).as("no qemu-img opened the data file").isFalse();
        }
    }

    /** With backing files off, the chain is named, not followed, and check runs with the backing file cut off. */
    @Test
    void aBackingFileNotFollowedIsNamedAndNeverOpenedNotEvenByTheCheck() throws Exception {
        Path top = root.resolve("top.qcow2");
        try (FifoCanary canary = new FifoCanary(root.resolve("base.raw"))) {
            qemuImg("create", "-q", "-u", "-f", "qcow2", "-F", "raw", "-b", canary.fifo().toString(), top.toString(), "16M");
            ImageFacts.Disk d = facts.of(top, null, false, true);
            assertThat(d.backingFile()).isEqualTo(canary.fifo().toString());
            assertThat(d.backingChain()).isEmpty();
            assertThat(d.backingChainNote()).contains("allow-backing-files=false");
            assertThat(d.check().result()).as(String.valueOf(d.check())).isEqualTo("clean");
            // allowed, it is a FIFO: the chain stops there, with the reason, and the image is still checked
            ImageFacts.Disk followed = facts.of(top, null, true, true);
            assertThat(followed.backingChain()).isEmpty();
            assertThat(followed.backingChainNote()).contains("a FIFO, not a regular file");
            assertThat(followed.check().result()).isEqualTo("clean");
            assertThat(canary.wasOpened()).as("no qemu-img opened the backing file").isFalse();
        }
    }

    @Test
    void aBackingChainIsFollowedAsFarAsThePolicyAllows() throws Exception {
        Path base = root.resolve("base.qcow2");
        Path mid = root.resolve("mid.qcow2");
        Path top = root.resolve("top.qcow2");
        qemuImg("create", "-q", "-f", "qcow2", base.toString(), "16M");
        qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "base.qcow2", mid.toString());
        qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "mid.qcow2", top.toString());
        ImageFacts.Disk d = facts.of(top, null, true, true);
        assertThat(d.backingChain()).extracting(ImageFacts.Backing::path)
                .containsExactly(mid.toRealPath().toString(), base.toRealPath().toString());
        assertThat(d.backingChainNote()).isNull();
        assertThat(d.check().result()).isEqualTo("clean");
        // the bottom of the chain leaves the root: followed down to it, not into it
        try (FifoCanary canary = new FifoCanary(outside.resolve("deep.fifo"))) {
            qemuImg("rebase", "-q", "-u", "-F", "raw", "-b", canary.fifo().toString(), base.toString());
            ImageFacts.Disk cut = facts.of(top, null, true, true);
            assertThat(cut.backingChain()).extracting(ImageFacts.Backing::path)
                    .containsExactly(mid.toRealPath().toString(), base.toRealPath().toString());
            assertThat(cut.backingChainNote()).contains(base.toString()).contains("outside the image root");
            assertThat(cut.check().result()).isEqualTo("clean");
            assertThat(canary.wasOpened()).as("nothing opened the file outside the root").isFalse();
        }
    }
}
