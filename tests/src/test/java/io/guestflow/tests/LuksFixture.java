package io.guestflow.tests;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.LuksKey;
import io.guestflow.pool.PoolConfig;
import io.guestflow.samples.SampleGuests;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;

/**
 * An encrypted Debian guest holding both layouts of issue 20 on one MBR disk,
 * built in one launch and cached under {@code <cacheRoot>/fixtures/luks-v<RECIPE>}:
 * <ul>
 *   <li>{@code /dev/sda1}: {@code /boot}, plain ext4;</li>
 *   <li>{@code /dev/sda2}: <b>LVM on LUKS</b>: a LUKS container ({@link #ROOT_KEY}) holding the PV of volume
 *   group {@code cryptvg}, whose LV {@code root} is the guest's {@code /} (ext4) and whose free extents held
 *   random data;</li>
 *   <li>{@code /dev/sda3}: <b>LUKS on LVM</b>: the PV of volume group {@code datavg}, whose LV {@code secret} is
 *   a LUKS container ({@link #DATA_KEY}) holding the ext4 the guest's fstab mounts on {@code /srv} by UUID;
 *   its free extents held random data too.</li>
 * </ul>
 * Every filesystem had a large random file written, synced and deleted (work for sparsify); the root holds a
 * real journal (systemd-journal-remote, {@link #JOURNAL_ENTRIES} entries) and the clutter virt-sysprep's default
 * operations remove. Filesystem UUIDs are fixed; the LUKS UUIDs are not (cryptsetup picks them), so they are
 * kept in {@code luks.properties} and goldens are compared by origin.
 *
 * <p>The LUKS headers are made on the host ({@link #luksFormat}) with PBKDF2 at cryptsetup's minimum of 1000
 * iterations: libguestfs 1.48's {@code luks_format} has no PBKDF setting and benchmarks Argon2id inside the
 * appliance, which under TCG made every {@code cryptsetup_open} take 3-7 s (a test opens them a dozen times). The
 * key is still derived and checked on every open, so a wrong key still fails; only the cost drops.
 */
final class LuksFixture {
    /** Bump when the recipe below changes. */
    static final String RECIPE = "2";
    static final String IMAGE = "luks.qcow2";
    static final String ROOT_KEY = "root-pass-4f1c";
    static final String DATA_KEY = "data-pass-9b27";
    static final String ROOT_PART = "/dev/sda2";
    static final String DATA_LV = "/dev/datavg/secret";
    static final String MACHINE_ID = "1c0ffee0000000000000000000000001";
    static final String BOOT_ID = "b0070000000000000000000000000020";
    static final int JOURNAL_ENTRIES = 300;
    static final String BOOT_UUID = "1c5a0000-0000-4000-8000-000000000001";
    static final String ROOT_UUID = "1c5a0000-0000-4000-8000-000000000002";
    static final String SRV_UUID = "1c5a0000-0000-4000-8000-000000000003";
    private static final BuiltOnce<Path> DIR = BuiltOnce.cached("fixtures/luks-v" + RECIPE,
            d -> Files.isRegularFile(d.resolve("luks.properties")) && Files.isRegularFile(d.resolve(IMAGE)),
            LuksFixture::build);

    /** The built fixture: its image and the LUKS UUIDs this build got. */
    record Built(Path image, String rootLuksUuid, String dataLuksUuid, long luksFormatMillis) {
        /** Both keys by device name, as a job gives them. */
        List<LuksKey> keysByDevice() {
            return List.of(new LuksKey(ROOT_PART, ROOT_KEY), new LuksKey(DATA_LV, DATA_KEY));
        }
    }

    private LuksFixture() {
    }

    static Built ensure() {
        Path dir = DIR.get();
        Properties p = new Properties();
        try (var r = Files.newBufferedReader(dir.resolve("luks.properties"))) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Built(dir.resolve(IMAGE), p.getProperty("root"), p.getProperty("data"),
                Long.parseLong(p.getProperty("luksFormatMillis")));
    }

    private static void build(Path work) throws IOException {
        Path random = Files.createDirectories(work.resolve("random"));
        Path journal = Files.createDirectories(work.resolve("journal"));
        JournalFixtures.writeJournal(journal.resolve("system.journal"), BOOT_ID, 0, JOURNAL_ENTRIES, 20);
        Path built = work.resolve("built.qcow2");
        Properties props = new Properties();
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
             HandlePool.Lease lease = pool.lease("luks-fixture")) {
            GuestFS creator = new GuestFS();
            try {
                creator.disk_create(built.toString(), "qcow2", 512L << 20);
            } finally {
                creator.close();
            }
            ApplianceHandle h = lease.launch(List.of(new Drive(built.toUri(), "qcow2", false, null)), GuestEventListener.NONE);
            GuestFS g = h.gfs();
            long mb = 2048;
            g.part_init("/dev/sda", "mbr");
            g.part_add("/dev/sda", "p", mb, 64 * mb - 1);
            g.part_add("/dev/sda", "p", 64 * mb, 300 * mb - 1);
            g.part_add("/dev/sda", "p", 300 * mb, -mb);
            g.part_set_bootable("/dev/sda", 1, true);
            g.part_set_mbr_id("/dev/sda", 3, 0x8e);

            // LVM on LUKS: the container first
            long t = System.nanoTime();
            luksFormat(g, ROOT_PART, ROOT_KEY, work);
            long formatMillis = (System.nanoTime() - t) / 1_000_000;
            g.cryptsetup_open(ROOT_PART, ROOT_KEY, "fixtureroot");
            g.pvcreate("/dev/mapper/fixtureroot");
            g.vgcreate("cryptvg", new String[] {"/dev/mapper/fixtureroot"});
            g.lvcreate("root", "cryptvg", 160);
            dirtyFreeExtents(g, "cryptvg", random.resolve("vg1"), 21);
            SampleGuests.ext4(g, "/dev/cryptvg/root", "root", ROOT_UUID);

            // LUKS on LVM
            g.pvcreate("/dev/sda3");
            g.vgcreate("datavg", new String[] {"/dev/sda3"});
            g.lvcreate("secret", "datavg", 96);
            t = System.nanoTime();
            luksFormat(g, DATA_LV, DATA_KEY, work);
            formatMillis += (System.nanoTime() - t) / 1_000_000;
            g.cryptsetup_open(DATA_LV, DATA_KEY, "fixturedata");
            SampleGuests.ext4(g, "/dev/mapper/fixturedata", "srv", SRV_UUID);
            dirtyFreeExtents(g, "datavg", random.resolve("vg2"), 22);
            SampleGuests.ext4(g, "/dev/sda1", "boot", BOOT_UUID);

            g.mount("/dev/cryptvg/root", "/");
            for (String d : List.of("/boot", "/srv", "/etc/ssh", "/etc/apt", "/bin", "/usr/bin", "/var/lib/dpkg",
                    "/var/log/journal/" + MACHINE_ID, "/var/cache/apt/archives", "/root", "/tmp")) {
                g.mkdir_p(d);
            }
            g.mount("/dev/sda1", "/boot");
            g.mount("/dev/mapper/fixturedata", "/srv");
            guestFiles(g);
            g.upload(journal.resolve("system.journal").toString(),
                    "/var/log/journal/" + MACHINE_ID + "/system.journal");
            deleted(g, random.resolve("boot"), 16L << 20, 23, "/boot/old-initrd.img");
            deleted(g, random.resolve("root"), 32L << 20, 24, "/var/tmp-download.iso");
            deleted(g, random.resolve("srv"), 24L << 20, 25, "/srv/www/backup.tar");
            g.umount_all();
            props.setProperty("root", g.luks_uuid(ROOT_PART));
            props.setProperty("data", g.luks_uuid(DATA_LV));
            props.setProperty("luksFormatMillis", Long.toString(formatMillis));
            g.cryptsetup_close("/dev/mapper/fixturedata");
            g.vg_activate(false, new String[] {"cryptvg"});
            g.cryptsetup_close("/dev/mapper/fixtureroot");
            h.shutdown();
        } catch (LibGuestFSException e) {
            throw new IllegalStateException("cannot build the LUKS fixture: " + e.getMessage(), e);
        }
        FileTrees.delete(random);
        FileTrees.delete(journal);
        // what reads as zeroes becomes a hole, as in an image that went through qemu-img convert
        VirtTool.run(Duration.ofMinutes(5), "qemu-img", "convert", "-q", "-f", "qcow2", "-O", "qcow2",
                built.toString(), work.resolve(IMAGE).toString()).orFail("qemu-img convert");
        Files.delete(built);
        try (var w = Files.newBufferedWriter(work.resolve("luks.properties"))) {
            props.store(w, "LUKS UUIDs of this build (cryptsetup picks them) and what formatting cost");
        }
    }

    /**
     * A LUKS2 container on {@code device}: cryptsetup on the host formats a sparse file of the device's size
     * (aes-xts-plain64, 512-byte sectors as the appliance's own {@code luks_format} gives, PBKDF2 with 1000
     * iterations), its header area is backed up and uploaded onto the device. The key goes to cryptsetup on stdin.
     */
    private static void luksFormat(GuestFS g, String device, String key, Path work) throws LibGuestFSException,
            IOException {
        Path dev = work.resolve("luks-device.img");
        Path header = work.resolve("luks-header.img");
        try (var f = new java.io.RandomAccessFile(dev.toFile(), "rw")) {
            f.setLength(g.blockdev_getsize64(device));
        }
        hostCryptsetup(key, "luksFormat", "--batch-mode", "--type", "luks2", "--cipher", "aes-xts-plain64",
                "--key-size", "512", "--sector-size", "512", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000",
                "--key-file", "-", dev.toString());
        hostCryptsetup(null, "luksHeaderBackup", dev.toString(), "--header-backup-file", header.toString());
        g.upload(header.toString(), device);
        Files.delete(header);
        Files.delete(dev);
    }

    private static void hostCryptsetup(String key, String... args) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of(java.nio.file.Files.isExecutable(Path.of("/usr/sbin/cryptsetup")) ? "/usr/sbin/cryptsetup" : "cryptsetup"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            if (key != null) {
                in.write(key.getBytes(StandardCharsets.UTF_8));
            }
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new IllegalStateException("cryptsetup " + args[0] + " failed: " + out.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IllegalStateException("interrupted while cryptsetup " + args[0] + " ran", e);
        }
    }

    /** What is read from a guest mounted by {@link #readOpened}. */
    interface MountedRead<T> {
        T read(GuestFS g) throws LibGuestFSException;
    }

    /**
     * On a launched appliance that may hold other copies of this fixture (the same LVM names and UUIDs, the same
     * LUKS UUIDs): opens the containers of {@code disk} only, under mapping names of that disk (so no copy's
     * mapping clashes; the product's {@code luks-<UUID>} names would), mounts its filesystems read-only where its
     * fstab puts them, checks that they are the ones its fstab names (by filesystem UUID), runs {@code read},
     * then unmounts and closes everything again, so that another disk can be read after it.
     */
    static <T> T readOpened(GuestFS g, String disk, MountedRead<T> read) throws LibGuestFSException {
        String tag = "lf" + disk.substring(disk.lastIndexOf('/') + 1);
        String root = tag + "root";
        String data = tag + "data";
        // this disk's volume groups only (lvm_set_filter deactivates the others first)
        g.lvm_set_filter(new String[] {disk});
        long t0 = System.nanoTime();
        g.cryptsetup_open(disk + "2", ROOT_KEY, root);
        long openRoot = System.nanoTime() - t0;
        try {
            g.lvm_set_filter(new String[] {disk, "/dev/mapper/" + root});
            long t1 = System.nanoTime();
            g.cryptsetup_open(DATA_LV, DATA_KEY, data);
            System.out.printf("LUKS fixture on %s: cryptsetup_open took %d ms (partition), %d ms (LV)%n", disk,
                    openRoot / 1_000_000, (System.nanoTime() - t1) / 1_000_000);
            try {
                g.mount_ro("/dev/cryptvg/root", "/");
                try {
                    g.mount_ro(disk + "1", "/boot");
                    g.mount_ro("/dev/mapper/" + data, "/srv");
                    for (String[] fs : List.of(new String[] {"/dev/cryptvg/root", ROOT_UUID},
                            new String[] {disk + "1", BOOT_UUID}, new String[] {"/dev/mapper/" + data, SRV_UUID})) {
                        if (!g.vfs_uuid(fs[0]).equals(fs[1])) {
                            throw new IllegalStateException(fs[0] + " is not the filesystem UUID " + fs[1]
                                    + " the fixture's fstab names");
                        }
                    }
                    return read.read(g);
                } finally {
                    g.umount_all();
                }
            } finally {
                g.cryptsetup_close("/dev/mapper/" + data);
            }
        } finally {
            g.vg_activate_all(false);
            g.cryptsetup_close("/dev/mapper/" + root);
        }
    }

    /** A Debian 12 root as inspection reads it, with the clutter virt-sysprep's default operations remove. */
    private static void guestFiles(GuestFS g) throws LibGuestFSException {
        write(g, "/etc/hostname", "luks01\n");
        write(g, "/etc/machine-id", MACHINE_ID + "\n");
        write(g, "/etc/os-release", """
                PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
                NAME="Debian GNU/Linux"
                VERSION_ID="12"
                VERSION="12 (bookworm)"
                VERSION_CODENAME=bookworm
                ID=debian
                """);
        write(g, "/etc/debian_version", "12.5\n");
        write(g, "/etc/fstab", """
                /dev/mapper/cryptvg-root / ext4 errors=remount-ro 0 1
                UUID=%s /boot ext4 defaults 0 2
                UUID=%s /srv ext4 defaults 0 2
                """.formatted(BOOT_UUID, SRV_UUID));
        write(g, "/var/lib/dpkg/status", """
                Package: bash
                Essential: yes
                Status: install ok installed
                Priority: required
                Section: shells
                Installed-Size: 7164
                Maintainer: Matthias Klose <doko@debian.org>
                Architecture: amd64
                Version: 5.2.15-2+b2
                Description: GNU Bourne Again SHell

                """);
        g.upload("/bin/ls", "/bin/ls");
        g.chmod(0755, "/bin/ls");
        write(g, "/boot/config-6.1.0-18-amd64", "CONFIG_X86_64=y\n");
        write(g, "/root/.bash_history", "cryptsetup status cryptroot\n");
        write(g, "/etc/ssh/ssh_host_ed25519_key", "not a real key\n");
        write(g, "/var/log/syslog", "Nov 20 10:00:00 luks01 kernel: booted\n");
        write(g, "/var/cache/apt/archives/bash_5.2.15-2+b2_amd64.deb", "cached package\n");
        write(g, "/tmp/session.tmp", "scratch\n");
        g.mkdir_p("/srv/www");
        write(g, "/srv/www/index.html", "<h1>encrypted data volume</h1>\n");
    }

    private static void write(GuestFS g, String path, String text) throws LibGuestFSException {
        g.write(path, text.getBytes(StandardCharsets.UTF_8));
    }

    /** The free extents of {@code vg} held random data: an LV over all of them, filled and removed. */
    private static void dirtyFreeExtents(GuestFS g, String vg, Path host, long seed) throws LibGuestFSException, IOException {
        g.lvcreate_free("scratch", vg, 100);
        String dev = "/dev/" + vg + "/scratch";
        g.upload(SparsifyFixture.randomFile(host, g.blockdev_getsize64(dev), seed).toString(), dev);
        g.sync();
        g.lvremove(dev);
        Files.delete(host);
    }

    /** A file of random data written, synced and deleted: its blocks stay in the free space. */
    private static void deleted(GuestFS g, Path host, long size, long seed, String guest) throws LibGuestFSException, IOException {
        g.upload(SparsifyFixture.randomFile(host, size, seed).toString(), guest);
        g.sync();
        g.rm(guest);
        g.sync();
        Files.delete(host);
    }
}
