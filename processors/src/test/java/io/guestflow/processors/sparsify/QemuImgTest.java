package io.guestflow.processors.sparsify;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class QemuImgTest {
    @Test
    void overlayClustersAreAsSmallAsTheL1TableAllows() {
        assertThat(QemuImg.overlayClusterSize(400L << 20)).isEqualTo(1024);
        assertThat(QemuImg.overlayClusterSize(127L << 30)).as("L1 just under 8 MiB at 1 KiB clusters").isEqualTo(1024);
        assertThat(QemuImg.overlayClusterSize(128L << 30)).isEqualTo(4096);
        assertThat(QemuImg.overlayClusterSize(1L << 40)).isEqualTo(4096);
        assertThat(QemuImg.overlayClusterSize(100L << 40)).isEqualTo(65536);
    }
}
