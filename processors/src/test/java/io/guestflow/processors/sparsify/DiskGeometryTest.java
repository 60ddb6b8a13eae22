package io.guestflow.processors.sparsify;

import static org.assertj.core.api.Assertions.assertThat;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import com.redhat.et.libguestfs.PV;
import com.redhat.et.libguestfs.Partition;
import io.guestflow.processors.job.ByteRanges;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * DiskGeometry on a guest's answers as the appliance gives them, canned: a
 * handle that is never launched, its calls answered here. The disk has a
 * partition at 1 MiB and the PV of volume group {@code vgt}
 * ({@link LvmMetadataTest#TEXT}) at 165 MiB, which the kernel names
 * /dev/sdb4 in pvs_full while libguestfs calls it /dev/sda4.
 */
class DiskGeometryTest {
    private static final long MIB = 1L << 20;
    private static final long PV_AT = 165 * MIB;
    private static final String PV_UUID = "AAAAAAbbbbccccddddeeeeffffgggggg";

    private Guest guest;

    /** The canned guest; {@code devices} are the attached disks. */
    private static class Guest extends GuestFS {
        private final String[] devices;

        Guest(String... devices) throws LibGuestFSException {
            this.devices = devices;
        }

        @Override
        public String[] list_devices() {
            return devices;
        }

        @Override
        public String[] list_partitions() {
            return new String[] {"/dev/sda1", "/dev/sda4"};
        }

        @Override
        public String part_to_dev(String partition) {
            return "/dev/sda";
        }

        @Override
        public int part_to_partnum(String partition) {
            return partition.charAt(partition.length() - 1) - '0';
        }

        @Override
        public Partition[] part_list(String device) {
            return new Partition[] {partition(1, MIB, 100 * MIB), partition(4, PV_AT, 240 * MIB)};
        }

        @Override
        public long blockdev_getsize64(String device) {
            return 400 * MIB;
        }

        @Override
        public String[] lvs() {
            return new String[] {"/dev/vgt/root", "/dev/vgt/swap"};
        }

        @Override
        public String vgmeta(String vg) {
            return LvmMetadataTest.TEXT + "\0\0\0";
        }

        @Override
        public String[] pvs() {
            return new String[] {"/dev/sda4"};
        }

        @Override
        public String pvuuid(String device) {
            return PV_UUID;
        }

        @Override
        public PV[] pvs_full() {
            PV pv = new PV();
            pv.pv_name = "/dev/sdb4";
            pv.pv_uuid = PV_UUID;
            pv.pv_mda_count = 1;
            return new PV[] {pv};
        }

        private static Partition partition(int num, long start, long size) {
            Partition p = new Partition();
            p.part_num = num;
            p.part_start = start;
            p.part_size = size;
            p.part_end = start + size - 1;
            return p;
        }
    }

    @AfterEach
    void close() throws LibGuestFSException {
        if (guest != null) {
            guest.close();
        }
    }

    @Test
    void partitionsAndLinearLvsArePlacedOnTheDiskAndTheirPvIsFoundByUuid() throws Exception {
        guest = new Guest("/dev/sda");
        DiskGeometry geometry = new DiskGeometry(guest);
        assertThat(geometry.pieces("/dev/sda")).containsExactly(new DiskGeometry.Piece(0, 0, 400 * MIB));
        assertThat(geometry.pieces("/dev/sda1")).containsExactly(new DiskGeometry.Piece(0, MIB, 100 * MIB));
        long data = PV_AT + MIB;
        assertThat(geometry.pieces("/dev/vgt/root")).containsExactly(
                new DiskGeometry.Piece(0, data + 20 * 4 * MIB, 40 * MIB),
                new DiskGeometry.Piece(40 * MIB, data, 20 * MIB));
        assertThat(geometry.diskRanges("/dev/vgt/root")).isEqualTo(ByteRanges.of(List.of(
                new ByteRanges.Range(data, data + 20 * MIB), new ByteRanges.Range(data + 80 * MIB, data + 120 * MIB))));
        assertThat(geometry.pieces("/dev/vgt/swap")).as("striped: cannot be placed").isNull();
        assertThat(geometry.pieces("/dev/sdz9")).isNull();
        assertThat(geometry.vgFree("vgt")).isEqualTo(LvmMetadata.parse("vgt", LvmMetadataTest.TEXT).free("pv0").shift(PV_AT));
        assertThat(geometry.metadataAreas("vgt")).isEqualTo(1);
    }

    @Test
    void withSeveralDisksNothingIsPlaced() throws Exception {
        guest = new Guest("/dev/sda", "/dev/sdb");
        DiskGeometry geometry = new DiskGeometry(guest);
        assertThat(geometry.pieces("/dev/sda1")).isNull();
        assertThat(geometry.diskRanges("/dev/vgt/root")).isNull();
    }

    @Test
    void aGroupWhosePvIsNotOnTheDiskOrWhoseMetadataDoesNotParseIsLeftUnplaced() throws Exception {
        guest = new Guest("/dev/sda") {
            @Override
            public String pvuuid(String device) {
                return "someotherpv";
            }
        };
        assertUnplaced(new DiskGeometry(guest));
        guest.close();
        guest = new Guest("/dev/sda") {
            @Override
            public String vgmeta(String vg) {
                return "garbage {";
            }
        };
        DiskGeometry geometry = new DiskGeometry(guest);
        assertUnplaced(geometry);
        assertThat(geometry.metadataAreas("vgt")).isZero();
    }

    private static void assertUnplaced(DiskGeometry geometry) throws LibGuestFSException {
        assertThat(geometry.pieces("/dev/vgt/root")).isNull();
        assertThat(geometry.vgFree("vgt")).isNull();
        assertThat(geometry.pieces("/dev/sda1")).as("the partitions are still known").isNotNull();
    }
}
