package io.guestflow.processors.inspect.batch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which guests of a shared appliance must be inspected alone, from facts alone (no appliance). */
class CollisionDetectorTest {

    private static GuestFacts guest(int offset, int disks, Set<String> vgs, Set<String> ids, List<String> fstab) {
        return new GuestFacts(new GuestDisks(offset, disks, vgs), ids, fstab, List.of());
    }

    private static final GuestFacts PLAIN_FIRST = guest(0, 1, Set.of(), Set.of(GuestFacts.uuid("aaaa"),
            GuestFacts.label("alpha")), List.of("UUID=aaaa", "LABEL=alpha", "proc", "tmpfs", "/dev/cdrom"));

    @Test
    void guestsWithDistinctIdentitiesShareTheAppliance() {
        GuestFacts lvm = guest(1, 1, Set.of("vgdeb"), Set.of(GuestFacts.pv("AbC-dEf"), GuestFacts.vg("vgdeb"),
                GuestFacts.uuid("bbbb")), List.of("/dev/mapper/vgdeb-root", "/dev/vgdeb/usr", "UUID=BBBB"));
        assertThat(CollisionDetector.mustRunAlone(List.of(PLAIN_FIRST, lvm))).isEmpty();
    }

    @Test
    void clonesCollideOnPvAndFilesystemUuidsBothGoAlone() {
        Set<String> ids = Set.of(GuestFacts.pv("pv1"), GuestFacts.vg("vgdeb"), GuestFacts.uuid("boot-uuid"));
        GuestFacts a = guest(1, 1, Set.of("vgdeb"), ids, List.of("UUID=boot-uuid"));
        GuestFacts b = guest(2, 1, Set.of(), ids, List.of("UUID=boot-uuid"));
        Map<Integer, String> alone = CollisionDetector.mustRunAlone(List.of(PLAIN_FIRST, a, b));
        assertThat(alone).containsOnlyKeys(1, 2);
        assertThat(alone.get(1)).contains("is also on another guest of the batch");
    }

    @Test
    void aCopyTheBatchMapsBackIsNoCollision() {
        Set<String> ids = Set.of(GuestFacts.uuid("boot-uuid"), GuestFacts.label("root"));
        List<String> fstab = List.of("LABEL=root", "UUID=boot-uuid");
        GuestFacts a = new GuestFacts(new GuestDisks(1, 1, Set.of()), ids, fstab, List.of(), ids);
        GuestFacts b = new GuestFacts(new GuestDisks(2, 1, Set.of()), ids, fstab, List.of(), ids);
        assertThat(CollisionDetector.mustRunAlone(List.of(PLAIN_FIRST, a, b))).isEmpty();
        // only what is mapped back: the copy's label still collides when its UUID alone is
        GuestFacts c = new GuestFacts(new GuestDisks(2, 1, Set.of()), ids, fstab, List.of(),
                Set.of(GuestFacts.uuid("boot-uuid")));
        assertThat(CollisionDetector.mustRunAlone(List.of(PLAIN_FIRST, a, c)))
                .containsOnlyKeys(2).containsEntry(2, "filesystem label root is also on another guest of the batch");
    }

    @Test
    void aSharedLabelAloneIsACollision() {
        GuestFacts other = guest(1, 1, Set.of(), Set.of(GuestFacts.label("alpha"), GuestFacts.uuid("cccc")), List.of());
        assertThat(CollisionDetector.mustRunAlone(List.of(PLAIN_FIRST, other)))
                .containsOnlyKeys(0, 1).containsEntry(1, "filesystem label alpha is also on another guest of the batch");
    }

    @Test
    void blockDeviceNamesInFstabResolveByApplianceIndex() {
        GuestFacts sda = guest(1, 1, Set.of(), Set.of(GuestFacts.uuid("dddd")), List.of("/dev/sda1"));
        assertThat(CollisionDetector.mustRunAlone(List.of(PLAIN_FIRST, sda)))
                .containsOnlyKeys(1).extractingByKey(1).asString().contains("another guest's disk");
        // the first guest's own disk keeps its name in the shared appliance
        GuestFacts vdaFirst = guest(0, 2, Set.of(), Set.of(GuestFacts.uuid("eeee")), List.of("/dev/vda1", "/dev/sdb2"));
        GuestFacts next = guest(2, 1, Set.of(), Set.of(GuestFacts.uuid("ffff")), List.of());
        assertThat(CollisionDetector.mustRunAlone(List.of(vdaFirst, next))).isEmpty();
        // a disk the first guest does not have alone is the next guest's in the shared appliance
        GuestFacts sdbFirst = guest(0, 1, Set.of(), Set.of(GuestFacts.uuid("eeee")), List.of("/dev/xvdb1"));
        assertThat(CollisionDetector.mustRunAlone(List.of(sdbFirst, next))).containsOnlyKeys(0);
        // beyond every disk of the appliance: unresolved alone and together
        GuestFacts far = guest(0, 1, Set.of(), Set.of(GuestFacts.uuid("eeee")), List.of("/dev/sdz1"));
        assertThat(CollisionDetector.mustRunAlone(List.of(far, next))).isEmpty();
    }

    @Test
    void fstabNamingAnotherGuestsIdentityOrVolumeGroupIsACollision() {
        GuestFacts lvm = guest(1, 1, Set.of("vgweb"), Set.of(GuestFacts.vg("vgweb"), GuestFacts.uuid("1111")), List.of());
        GuestFacts byUuid = guest(2, 1, Set.of(), Set.of(GuestFacts.uuid("2222")), List.of("/dev/disk/by-uuid/1111"));
        GuestFacts byVg = guest(3, 1, Set.of(), Set.of(GuestFacts.uuid("3333")), List.of("/dev/mapper/vgweb-root"));
        GuestFacts missing = guest(4, 1, Set.of(), Set.of(GuestFacts.uuid("4444")), List.of("UUID=9999", "/dev/vgnone/lv"));
        Map<Integer, String> alone = CollisionDetector.mustRunAlone(List.of(PLAIN_FIRST, lvm, byUuid, byVg, missing));
        assertThat(alone).containsOnlyKeys(2, 3);
        assertThat(alone.get(3)).contains("a volume group of another guest");
    }

    @Test
    void namesThatCannotBeProvenHarmlessAndReasonsFromTheApplianceSendAGuestAlone() {
        GuestFacts byId = guest(1, 1, Set.of(), Set.of(GuestFacts.uuid("5555")), List.of("/dev/disk/by-id/virtio-abc-part1"));
        GuestFacts md = guest(2, 1, Set.of(), Set.of(GuestFacts.uuid("6666")), List.of("/dev/md0"));
        GuestFacts raid = new GuestFacts(new GuestDisks(3, 1, Set.of()), Set.of(), List.of(),
                List.of("software RAID member /dev/sdd1: arrays are numbered by the appliance"));
        Map<Integer, String> alone = CollisionDetector.mustRunAlone(List.of(PLAIN_FIRST, byId, md, raid));
        assertThat(alone).containsOnlyKeys(1, 2, 3);
        assertThat(alone.get(3)).startsWith("software RAID member");
    }

    @Test
    void volumeGroupOfMapperNamesUndoesDashEscaping() {
        assertThat(CollisionDetector.volumeGroupOf("/dev/mapper/ubuntu--vg-ubuntu--lv")).isEqualTo("ubuntu-vg");
        assertThat(CollisionDetector.volumeGroupOf("/dev/mapper/vgdeb-root")).isEqualTo("vgdeb");
        assertThat(CollisionDetector.volumeGroupOf("/dev/mapper/luks-1234")).isEqualTo("luks");
        assertThat(CollisionDetector.volumeGroupOf("/dev/vg0/home")).isEqualTo("vg0");
        assertThat(CollisionDetector.volumeGroupOf("/dev/disk/by-id")).isNull();
        assertThat(CollisionDetector.identityOf("UUID=\"AbCd\"")).isEqualTo("uuid:abcd");
        assertThat(CollisionDetector.identityOf("PARTLABEL=EFI")).isEqualTo("partlabel:EFI");
        assertThat(CollisionDetector.identityOf("/dev/sda1")).isNull();
    }
}
