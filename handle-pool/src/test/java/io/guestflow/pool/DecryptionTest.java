package io.guestflow.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class DecryptionTest {

    @Test
    void mapNamesAreTheVirtToolsOnes() {
        // what virt-inspector 1.48.2 passes to cryptsetup_open (its -x trace)
        assertThat(Decryption.mapName("/dev/sda2", "23ab52d2-b5a4-45b0-86ce-232d5ff0a8a0"))
                .isEqualTo("luks-23ab52d2-b5a4-45b0-86ce-232d5ff0a8a0");
        assertThat(Decryption.mapName("/dev/datavg/secret", null)).isEqualTo("luksdatavgsecret");
        assertThat(Decryption.mapName("/dev/sda2", " ")).isEqualTo("lukssda2");
    }

    @Test
    void aHostileUuidNeverNamesTheMapping() {
        // a LUKS1 header holds 40 bytes of UUID text, whatever the guest put there
        assertThat(Decryption.mapName("/dev/sda2", "../control")).isEqualTo("lukssda2");
        assertThat(Decryption.mapName("/dev/sda2", "x y")).isEqualTo("lukssda2");
        assertThat(Decryption.mapName("/dev/sda2", "23AB52D2-b5a4")).isEqualTo("luks-23AB52D2-b5a4");
    }

    @Test
    void messagesLoseEveryPassphraseAndKeepOneLine() {
        List<LuksKey> keys = List.of(new LuksKey("all", "s3cret"), new LuksKey("/dev/sda2", "other"));
        assertThat(Decryption.masked("cryptsetup: s3cret and other rejected\nsecond line", keys))
                .isEqualTo("cryptsetup: *** and *** rejected");
    }

    @Test
    void noKeysDoNothingWithoutTouchingTheHandle() {
        assertThat(Decryption.open(null, List.of())).isEqualTo(Decryption.Opened.NOTHING);
    }
}
