package io.guestflow.tests;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.pool.CachedBuild;
import io.guestflow.samples.SampleGuests;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The disks the resize tests work on, all built in ONE appliance launch and
 * cached under {@code <cacheRoot>/resize-fixtures/v<RECIPE>}: an MBR guest
 * with /boot and an ext4 root (and a fake boot loader in the first MiB), an
 * LVM guest (PV on a partition, root LV) and a GPT disk with an EFI system
 * partition, ext4, swap and xfs (names, types, attributes set). The appliance
 * has mkfs.xfs through Debian's libguestfs-xfs, which scripts/setup installs.
 */
final class ResizeFixtures {
    /** Bump when a recipe below changes: the cache (and every oracle output keyed on it) follows. */
    static final String RECIPE = "6";

    enum Disk {
        MBR("mbr.qcow2", 192), LVM("lvm.qcow2", 192), GPT("gpt.qcow2", 160);

        final String file;
        final int sizeMb;

        Disk(String file, int sizeMb) {
            this.file = file;
            this.sizeMb = sizeMb;
        }
    }

    static final String EFI_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
    static final String HOSTNAME = "resize01";
    private static Path dir;

    private ResizeFixtures() {
    }

    static synchronized Path dir() {
        if (dir == null) {
            dir = CachedBuild.ensure(Fixtures.cacheRoot().resolve("resize-fixtures").resolve("v" + RECIPE),
                    ResizeFixtures::complete, ResizeFixtures::build);
        }
        return dir;
    }

    static Path image(Disk d) {
        return dir().resolve(d.file);
    }

    private static boolean complete(Path d) {
        for (Disk x : Disk.values()) {
            if (!Files.isRegularFile(d.resolve(x.file))) {
                return false;
            }
        }
        return true;
    }

    private static void build(Path work) throws IOException {
        List<Drive> drives = new ArrayList<>();
        for (Disk d : Disk.values()) {
            Path p = work.resolve(d.file);
            VirtTool.run(java.time.Duration.ofMinutes(1), "qemu-img", "create", "-q", "-f", "qcow2", p.toString(),
                    d.sizeMb + "M").orFail("qemu-img create");
            drives.add(new Drive(p.toUri(), "qcow2", false, null));
        }
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
             HandlePool.Lease lease = pool.lease("resize-fixtures")) {
            ApplianceHandle h = lease.launch(drives, GuestEventListener.NONE);
            GuestFS g = h.gfs();
            mbr(g, "/dev/sda");
            lvm(g, "/dev/sdb");
            gpt(g, "/dev/sdc");
            h.shutdown();
        } catch (LibGuestFSException e) {
            throw new IllegalStateException("cannot build resize fixtures: " + e.getMessage(), e);
        }
    }

    /** MBR: bootable /boot (ext4) and / (ext4), a recognisable "boot loader" before the first partition. */
    private static void mbr(GuestFS g, String disk) throws LibGuestFSException {
        g.part_init(disk, "mbr");
        g.part_add(disk, "p", 2048, 2048 + 48 * 2048 - 1);
        g.part_add(disk, "p", 2048 + 48 * 2048, -2048);
        g.part_set_bootable(disk, 1, true);
        bootLoader(g, disk);
        SampleGuests.ext4(g, disk + "1", "boot", "4e51ce00-0000-4000-8000-000000000001");
        SampleGuests.ext4(g, disk + "2", "root", "4e51ce00-0000-4000-8000-000000000002");
        g.mount(disk + "2", "/");
        g.mkdir("/boot");
        g.mount(disk + "1", "/boot");
        linuxRoot(g, "/dev/sda2 / ext4 defaults 0 1\n/dev/sda1 /boot ext4 defaults 0 2\n");
        g.write("/boot/vmlinuz-6.1.0-18-amd64", random(1, 300_000));
        g.umount_all();
    }

    /** LVM: /boot on sdX1, PV on sdX2 (type 8e) with VG rsvg, LV root (ext4) holding the guest. */
    private static void lvm(GuestFS g, String disk) throws LibGuestFSException {
        g.part_init(disk, "mbr");
        g.part_add(disk, "p", 2048, 2048 + 32 * 2048 - 1);
        g.part_add(disk, "p", 2048 + 32 * 2048, -2048);
        g.part_set_bootable(disk, 1, true);
        g.part_set_mbr_id(disk, 2, 0x8e);
        bootLoader(g, disk);
        g.pvcreate(disk + "2");
        g.vgcreate("rsvg", new String[]{disk + "2"});
        g.lvcreate("root", "rsvg", 100);
        SampleGuests.ext4(g, disk + "1", "lvboot", "4e51ce00-0000-4000-8000-000000000003");
        SampleGuests.ext4(g, "/dev/rsvg/root", "lvroot", "4e51ce00-0000-4000-8000-000000000004");
        g.mount("/dev/rsvg/root", "/");
        g.mkdir("/boot");
        g.mount(disk + "1", "/boot");
        linuxRoot(g, "/dev/rsvg/root / ext4 defaults 0 1\n/dev/sda1 /boot ext4 defaults 0 2\n");
        g.umount_all();
    }

    /**
     * GPT: EFI system partition (vfat, attributes), ext4, swap with label, xfs; partition names set. mkfs.xfs
     * refuses filesystems under 300 MB, which would make this disk (and every copy of it the tests make) six
     * times larger; so the 48 MiB xfs is made on the host with the escape xfsprogs keeps for its own test
     * suite, and written onto the partition.
     */
    private static void gpt(GuestFS g, String disk) throws LibGuestFSException {
        g.part_init(disk, "gpt");
        long s = 2048;
        long[] mb = {16, 48, 16, 48};
        for (long m : mb) {
            g.part_add(disk, "p", s, s + m * 2048 - 1);
            s += m * 2048;
        }
        // fixed GUIDs (parted makes random ones): the first MiB of every build is the same, and so is
        // virt-resize's output, whose first MiB the tests keep as a golden checksum
        g.part_set_disk_guid(disk, "6A5E0000-0000-4000-8000-00000000D15C");
        for (int i = 1; i <= mb.length; i++) {
            g.part_set_gpt_guid(disk, i, "6A5E0000-0000-4000-8000-00000000000" + i);
        }
        writeAll(g, disk, MBR_SIGNATURE, 440);
        g.part_set_gpt_type(disk, 1, EFI_TYPE);
        g.part_set_gpt_attributes(disk, 1, 1L); // "required partition"
        g.part_set_name(disk, 1, "EFI");
        g.part_set_name(disk, 2, "root");
        g.part_set_name(disk, 3, "swap");
        g.part_set_gpt_type(disk, 3, "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F");
        g.part_set_name(disk, 4, "data");
        g.mkfs("vfat", disk + "1", Map.of());
        SampleGuests.ext4(g, disk + "2", "gptroot", "4e51ce00-0000-4000-8000-000000000005");
        g.mkswap(disk + "3", Map.of("label", "swp", "uuid", "4e51ce00-0000-4000-8000-000000000006"));
        g.upload(smallXfs(48).toString(), disk + "4");
        g.mount(disk + "1", "/");
        g.mkdir_p("/EFI/BOOT");
        g.write("/EFI/BOOT/BOOTX64.EFI", random(2, 200_000));
        g.umount_all();
        g.mount(disk + "2", "/");
        g.mkdir_p("/srv");
        g.write("/srv/root.bin", random(3, 400_000));
        g.umount_all();
        g.mount(disk + "4", "/");
        g.mkdir_p("/a/b");
        g.write("/a/b/data.bin", random(4, 1_000_000));
        g.write("/a/readme.txt", "gpt data\n".getBytes(StandardCharsets.UTF_8));
        g.umount_all();
    }

    /** A {@code mb} MiB xfs image labelled gdata, made on the host; deleted when the JVM exits. */
    private static Path smallXfs(int mb) {
        try {
            Path img = Files.createTempFile("resize-fixture-xfs", ".img");
            img.toFile().deleteOnExit();
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(img.toFile(), "rw")) {
                f.setLength(mb * 1024L * 1024);
            }
            String mkfs = Files.isExecutable(Path.of("/usr/sbin/mkfs.xfs")) ? "/usr/sbin/mkfs.xfs" : "mkfs.xfs";
            ProcessBuilder pb = new ProcessBuilder(mkfs, "-q", "-f", "-L", "gdata",
                    "-m", "uuid=4e51ce00-0000-4000-8000-000000000007", img.toString()).redirectErrorStream(true);
            // xfsprogs' own test suite may make filesystems under 300 MB: these variables say "running fstests"
            pb.environment().put("TEST_DIR", img.getParent().toString());
            pb.environment().put("TEST_DEV", img.toString());
            pb.environment().put("QA_CHECK_FS", "1");
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IllegalStateException("mkfs.xfs (xfsprogs, installed with libguestfs-xfs) failed: " + out);
            }
            return img;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The MBR's disk signature (bytes 440-443), which parted would make random. */
    private static final byte[] MBR_SIGNATURE = {0x47, 0x46, 0x52, 0x5a};

    /**
     * Boot code in sector 0 (not the partition table), a fixed disk signature, and a loader image in the gap
     * before sector 2048.
     */
    private static void bootLoader(GuestFS g, String disk) throws LibGuestFSException {
        writeAll(g, disk, random(5, 440), 0);
        writeAll(g, disk, MBR_SIGNATURE, 440);
        writeAll(g, disk, random(6, 256 * 1024), 512);
    }

    private static void writeAll(GuestFS g, String disk, byte[] data, long offset) throws LibGuestFSException {
        int done = 0;
        while (done < data.length) {
            byte[] rest = java.util.Arrays.copyOfRange(data, done, data.length);
            done += g.pwrite_device(disk, rest, offset + done);
        }
    }

    /** The files inspection reads on a Debian guest, and some data. */
    private static void linuxRoot(GuestFS g, String fstab) throws LibGuestFSException {
        for (String d : List.of("/etc", "/bin", "/usr/bin", "/var/lib/dpkg", "/srv/data")) {
            g.mkdir_p(d);
        }
        g.write("/etc/hostname", (HOSTNAME + "\n").getBytes(StandardCharsets.UTF_8));
        g.write("/etc/os-release", """
                PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
                NAME="Debian GNU/Linux"
                VERSION_ID="12"
                VERSION="12 (bookworm)"
                ID=debian
                """.getBytes(StandardCharsets.UTF_8));
        g.write("/etc/debian_version", "12.5\n".getBytes(StandardCharsets.UTF_8));
        g.write("/etc/fstab", fstab.getBytes(StandardCharsets.UTF_8));
        g.upload("/bin/ls", "/bin/ls"); // inspection reads the architecture from an ELF binary
        g.chmod(0755, "/bin/ls");
        g.write("/var/lib/dpkg/status", "Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nArchitecture: amd64\n\n"
                .getBytes(StandardCharsets.UTF_8));
        g.write("/srv/data/blob.bin", random(7, 1_500_000));
        g.write("/srv/data/notes.txt", "resize me\n".getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
