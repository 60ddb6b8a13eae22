package io.guestflow.processors.inspect.batch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

/** Device names of one guest in a shared appliance, mapped back to its names alone. */
class GuestDisksTest {

    @Test
    void diskLettersFollowTheKernelsNaming() {
        assertThat(GuestDisks.letters(0)).isEqualTo("a");
        assertThat(GuestDisks.letters(25)).isEqualTo("z");
        assertThat(GuestDisks.letters(26)).isEqualTo("aa");
        assertThat(GuestDisks.letters(701)).isEqualTo("zz");
        assertThat(GuestDisks.letters(702)).isEqualTo("aaa");
        for (int i = 0; i < 800; i++) {
            assertThat(GuestDisks.index(GuestDisks.letters(i))).isEqualTo(i);
        }
    }

    @Test
    void aGuestsDevicesGetTheNamesTheyHaveAlone() {
        GuestDisks third = new GuestDisks(2, 2, Set.of("vgdb"));
        assertThat(third.aloneName("/dev/sdc2")).isEqualTo("/dev/sda2");
        assertThat(third.aloneName("/dev/sdd")).isEqualTo("/dev/sdb");
        assertThat(third.aloneName("btrfsvol:/dev/sdc2/@home")).isEqualTo("btrfsvol:/dev/sda2/@home");
        assertThat(third.aloneName("/dev/vgdb/root")).isEqualTo("/dev/vgdb/root");
        GuestDisks late = new GuestDisks(25, 2, Set.of());
        assertThat(late.aloneName("/dev/sdaa1")).isEqualTo("/dev/sdb1");
        assertThat(late.owns("/dev/sdz1")).isTrue();
        assertThat(late.owns("/dev/sdab1")).isFalse();
    }

    @Test
    void ownershipCoversItsDisksAndVolumeGroupsOnly() {
        GuestDisks second = new GuestDisks(1, 1, Set.of("vgdb"));
        assertThat(second.owns("/dev/sdb1")).isTrue();
        assertThat(second.owns("/dev/sda1")).isFalse();
        assertThat(second.owns("/dev/sdc")).isFalse();
        assertThat(second.owns("/dev/vgdb/root")).isTrue();
        assertThat(second.owns("/dev/vgweb/root")).isFalse();
        assertThat(second.owns("/dev/md127")).isFalse();
        assertThat(GuestDisks.diskIndex("/dev/sdc3")).isEqualTo(2);
        assertThat(GuestDisks.diskIndex("/dev/vgdb/root")).isEqualTo(-1);
    }
}
