package io.guestflow.samples;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.CachedBuild;
import io.guestflow.pool.Drive;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Small but realistic guest images built on the libguestfs API, for the demo
 * and as test fixtures: they are not full operating systems, but carry every
 * file inspection looks at (os-release, fstab by UUID and LABEL, hostname, a
 * dpkg database, an ELF binary for the architecture).
 *
 * <p>All images are built in one appliance launch and cached under
 * {@code <cacheRoot>/v<RECIPE_VERSION>/}; change the recipe, bump the version.
 * Their filesystems have fixed UUIDs and fully initialised inode tables, so
 * two builds of one recipe hold the same guests: the tests keep the virt
 * tools' outputs on them as golden files.
 */
public final class SampleGuests {
    /** Bump whenever a recipe below changes: the cache is keyed by it. */
    public static final String RECIPE_VERSION = "2";

    /** The images, with the guest each one (or each pair) holds. */
    public enum Image {
        /** ext4 on an MBR partition, data files, no operating system. */
        BLANK_EXT4("blank-ext4.qcow2", 64),
        /** Debian 12 on LVM: /boot (by UUID), / and /usr (by LABEL) as separate filesystems, hostname web01. */
        DEBIAN_LVM("debian-lvm.qcow2", 1024),
        /** Ubuntu 22.04 whose /home lives on a second disk ({@link #MULTIDISK_HOME}), hostname db01. */
        MULTIDISK_ROOT("multidisk-root.qcow2", 256),
        /** The /home disk of {@link #MULTIDISK_ROOT}. */
        MULTIDISK_HOME("multidisk-home.qcow2", 128),
        /** Two Linux installations on one disk (Debian 11 and Ubuntu 20.04). */
        MULTIBOOT("multiboot.qcow2", 512);

        public final String fileName;
        final int sizeMb;

        Image(String fileName, int sizeMb) {
            this.fileName = fileName;
            this.sizeMb = sizeMb;
        }
    }

    private SampleGuests() {
    }

    /** The cache folder for the current recipe. */
    public static Path dir(Path cacheRoot) {
        return cacheRoot.resolve("v" + RECIPE_VERSION);
    }

    /**
     * Returns the folder holding every {@link Image}, building them first
     * when the cache lacks them. Safe against concurrent builders (file lock)
     * and interrupted builds (built aside, then renamed).
     */
    public static Path ensure(Path cacheRoot, HandlePool pool) {
        return CachedBuild.ensure(dir(cacheRoot), SampleGuests::isComplete, work -> build(work, pool));
    }

    private static boolean isComplete(Path dir) {
        for (Image i : Image.values()) {
            if (!Files.isRegularFile(dir.resolve(i.fileName))) {
                return false;
            }
        }
        return true;
    }

    private static void build(Path work, HandlePool pool) {
        List<Drive> drives = new ArrayList<>();
        try (HandlePool.Lease lease = pool.lease("sample-build")) {
            GuestFS creator = new GuestFS();
            try {
                for (Image i : Image.values()) {
                    Path p = work.resolve(i.fileName);
                    creator.disk_create(p.toString(), "qcow2", i.sizeMb * 1024L * 1024L);
                    drives.add(new Drive(p.toUri(), "qcow2", false, null));
                }
            } finally {
                creator.close();
            }
            ApplianceHandle h = lease.launch(drives, GuestEventListener.NONE);
            try {
                GuestFS g = h.gfs();
                blank(g, "/dev/sda");
                debianLvm(g, "/dev/sdb");
                multidisk(g, "/dev/sdc", "/dev/sdd");
                multiboot(g, "/dev/sde");
            } catch (LibGuestFSException e) {
                throw h.translate(e);
            }
        } catch (LibGuestFSException e) {
            throw new GuestflowException(io.guestflow.pool.ErrorCode.OPERATION_FAILED, "cannot create sample disks: " + e.getMessage(), e);
        }
    }

    private static void blank(GuestFS g, String disk) throws LibGuestFSException {
        g.part_disk(disk, "mbr");
        ext4(g, disk + "1", "data", "0b1a0c00-0000-4000-8000-000000000001");
        g.mount(disk + "1", "/");
        g.mkdir_p("/srv/files");
        g.write("/README.txt", bytes("sample data disk: no operating system here\n"));
        g.write("/srv/files/a.txt", bytes("alpha\n"));
        g.umount_all();
    }

    private static void debianLvm(GuestFS g, String disk) throws LibGuestFSException {
        g.part_init(disk, "mbr");
        g.part_add(disk, "p", 2048, 2048 + 200 * 2048 - 1);
        g.part_add(disk, "p", 2048 + 200 * 2048, -2048);
        g.part_set_bootable(disk, 1, true);
        g.part_set_mbr_id(disk, 2, 0x8e);
        ext4(g, disk + "1", "boot", "de61a000-0000-4000-8000-000000000001");
        g.pvcreate(disk + "2");
        g.vgcreate("vgdeb", new String[] {disk + "2"});
        g.lvcreate("root", "vgdeb", 300);
        g.lvcreate("usr", "vgdeb", 300);
        ext4(g, "/dev/vgdeb/root", "root", "de61a000-0000-4000-8000-000000000002");
        ext4(g, "/dev/vgdeb/usr", "usr", "de61a000-0000-4000-8000-000000000003");
        String bootUuid = g.vfs_uuid(disk + "1");

        g.mount("/dev/vgdeb/root", "/");
        g.mkdir_p("/boot");
        g.mkdir_p("/usr");
        g.mount(disk + "1", "/boot");
        g.mount("/dev/vgdeb/usr", "/usr");
        linuxBase(g, "web01", """
                PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
                NAME="Debian GNU/Linux"
                VERSION_ID="12"
                VERSION="12 (bookworm)"
                VERSION_CODENAME=bookworm
                ID=debian
                HOME_URL="https://www.debian.org/"
                """, """
                # /etc/fstab: static file system information.
                /dev/mapper/vgdeb-root /     ext4 errors=remount-ro 0 1
                UUID=%s /boot ext4 defaults 0 2
                LABEL=usr /usr ext4 defaults 0 2
                """.formatted(bootUuid));
        g.write("/etc/debian_version", bytes("12.5\n"));
        g.write("/boot/config-6.1.0-18-amd64", bytes("CONFIG_X86_64=y\n"));
        g.mkdir_p("/usr/share/doc");
        g.umount_all();
    }

    private static void multidisk(GuestFS g, String rootDisk, String homeDisk) throws LibGuestFSException {
        g.part_disk(rootDisk, "mbr");
        ext4(g, rootDisk + "1", "mdroot", "0d15c000-0000-4000-8000-000000000001");
        g.part_disk(homeDisk, "gpt");
        ext4(g, homeDisk + "1", "mdhome", "0d15c000-0000-4000-8000-000000000002");
        String homeUuid = g.vfs_uuid(homeDisk + "1");
        g.mount(rootDisk + "1", "/");
        g.mkdir_p("/home");
        g.mount(homeDisk + "1", "/home");
        linuxBase(g, "db01", """
                PRETTY_NAME="Ubuntu 22.04.4 LTS"
                NAME="Ubuntu"
                VERSION_ID="22.04"
                VERSION="22.04.4 LTS (Jammy Jellyfish)"
                VERSION_CODENAME=jammy
                ID=ubuntu
                ID_LIKE=debian
                """, """
                LABEL=mdroot / ext4 defaults 0 1
                UUID=%s /home ext4 defaults 0 2
                """.formatted(homeUuid));
        g.write("/etc/debian_version", bytes("bookworm/sid\n"));
        g.mkdir_p("/home/alice");
        g.write("/home/alice/notes.txt", bytes("hello from the second disk\n"));
        g.umount_all();
    }

    private static void multiboot(GuestFS g, String disk) throws LibGuestFSException {
        g.part_init(disk, "mbr");
        g.part_add(disk, "p", 2048, 2048 + 250 * 2048 - 1);
        g.part_add(disk, "p", 2048 + 250 * 2048, -2048);
        ext4(g, disk + "1", "alpha", "0b007000-0000-4000-8000-000000000001");
        ext4(g, disk + "2", "beta", "0b007000-0000-4000-8000-000000000002");
        g.mount(disk + "1", "/");
        linuxBase(g, "alpha", """
                PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"
                NAME="Debian GNU/Linux"
                VERSION_ID="11"
                ID=debian
                """, "/dev/sda1 / ext4 defaults 0 1\n");
        g.write("/etc/debian_version", bytes("11.9\n"));
        g.umount_all();
        g.mount(disk + "2", "/");
        linuxBase(g, "beta", """
                PRETTY_NAME="Ubuntu 20.04.6 LTS"
                NAME="Ubuntu"
                VERSION_ID="20.04"
                ID=ubuntu
                ID_LIKE=debian
                """, "/dev/sda2 / ext4 defaults 0 1\n");
        g.umount_all();
    }

    /** Bump whenever the fleet recipe below changes. */
    public static final String FLEET_RECIPE_VERSION = "1";

    /**
     * {@code count} small guests that are all different — own hostname, VG
     * name, labels and UUIDs — as a fleet to inspect together: even ones
     * Debian 12 on LVM (/boot by UUID, / by /dev/mapper name), odd ones
     * Ubuntu 22.04 on one partition (/ by LABEL). Built in one launch, cached
     * under {@code <cacheRoot>/fleet-v<FLEET_RECIPE_VERSION>-<count>/}.
     *
     * @return the images, in order
     */
    public static List<Path> fleet(Path cacheRoot, HandlePool pool, int count) {
        Path done = cacheRoot.resolve("fleet-v" + FLEET_RECIPE_VERSION + "-" + count);
        List<Path> images = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            images.add(done.resolve("fleet-%02d.qcow2".formatted(i)));
        }
        CachedBuild.ensure(done, d -> images.stream().allMatch(Files::isRegularFile), work -> buildFleet(work, pool, count));
        return images;
    }

    private static void buildFleet(Path work, HandlePool pool, int count) {
        List<Drive> drives = new ArrayList<>();
        try (HandlePool.Lease lease = pool.lease("fleet-build")) {
            GuestFS creator = new GuestFS();
            try {
                for (int i = 1; i <= count; i++) {
                    Path p = work.resolve("fleet-%02d.qcow2".formatted(i));
                    creator.disk_create(p.toString(), "qcow2", 256L * 1024 * 1024);
                    drives.add(new Drive(p.toUri(), "qcow2", false, null));
                }
            } finally {
                creator.close();
            }
            ApplianceHandle h = lease.launch(drives, GuestEventListener.NONE);
            try {
                String[] disks = h.gfs().list_devices();
                for (int i = 1; i <= count; i++) {
                    if (i % 2 == 0) {
                        fleetDebian(h.gfs(), disks[i - 1], i);
                    } else {
                        fleetUbuntu(h.gfs(), disks[i - 1], i);
                    }
                }
            } catch (LibGuestFSException e) {
                throw h.translate(e);
            }
        } catch (LibGuestFSException e) {
            throw new GuestflowException(io.guestflow.pool.ErrorCode.OPERATION_FAILED, "cannot create fleet disks: " + e.getMessage(), e);
        }
    }

    private static void fleetDebian(GuestFS g, String disk, int n) throws LibGuestFSException {
        String vg = "vgfleet%02d".formatted(n);
        g.part_init(disk, "mbr");
        g.part_add(disk, "p", 2048, 2048 + 64 * 2048 - 1);
        g.part_add(disk, "p", 2048 + 64 * 2048, -2048);
        g.mkfs("ext4", disk + "1", Map.of("label", "boot%02d".formatted(n)));
        g.pvcreate(disk + "2");
        g.vgcreate(vg, new String[] {disk + "2"});
        g.lvcreate("root", vg, 160);
        g.mkfs("ext4", "/dev/" + vg + "/root", Map.of("label", "root%02d".formatted(n)));
        String bootUuid = g.vfs_uuid(disk + "1");
        g.mount("/dev/" + vg + "/root", "/");
        g.mkdir_p("/boot");
        g.mount(disk + "1", "/boot");
        linuxBase(g, "fleet%02d".formatted(n), """
                PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
                NAME="Debian GNU/Linux"
                VERSION_ID="12"
                ID=debian
                """, """
                /dev/mapper/%s-root / ext4 errors=remount-ro 0 1
                UUID=%s /boot ext4 defaults 0 2
                """.formatted(vg, bootUuid));
        g.write("/etc/debian_version", bytes("12.5\n"));
        g.umount_all();
    }

    private static void fleetUbuntu(GuestFS g, String disk, int n) throws LibGuestFSException {
        String label = "root%02d".formatted(n);
        g.part_disk(disk, "mbr");
        g.mkfs("ext4", disk + "1", Map.of("label", label));
        g.mount(disk + "1", "/");
        linuxBase(g, "fleet%02d".formatted(n), """
                PRETTY_NAME="Ubuntu 22.04.4 LTS"
                NAME="Ubuntu"
                VERSION_ID="22.04"
                ID=ubuntu
                ID_LIKE=debian
                """, "LABEL=%s / ext4 defaults 0 1\n".formatted(label));
        g.write("/etc/debian_version", bytes("bookworm/sid\n"));
        g.umount_all();
    }

    /**
     * ext4 with a fixed UUID and its inode tables and journal written at once
     * (not later by the guest kernel's lazy init), so every build of a recipe
     * gives the same filesystem.
     */
    public static void ext4(GuestFS g, String device, String label, String uuid) throws LibGuestFSException {
        g.mke2fs(device, Map.of("fstype", "ext4", "label", label, "uuid", uuid,
                "lazyitableinit", false, "lazyjournalinit", false));
    }

    /** The files inspection reads on a Debian-family guest, under the mounted root. */
    private static void linuxBase(GuestFS g, String hostname, String osRelease, String fstab) throws LibGuestFSException {
        for (String d : List.of("/etc/apt", "/bin", "/usr/bin", "/var/lib/dpkg", "/var/log", "/root", "/tmp")) {
            g.mkdir_p(d);
        }
        g.write("/etc/hostname", bytes(hostname + "\n"));
        g.write("/etc/os-release", bytes(osRelease));
        g.write("/etc/fstab", bytes(fstab));
        g.write("/etc/machine-id", bytes("0123456789abcdef0123456789abcdef\n"));
        // an ELF binary of this host's architecture: inspection reads the guest's arch from /bin/ls
        g.upload("/bin/ls", "/bin/ls");
        g.chmod(0755, "/bin/ls");
        g.write("/var/lib/dpkg/status", bytes(DPKG_STATUS));
    }

    private static final String DPKG_STATUS = """
            Package: bash
            Essential: yes
            Status: install ok installed
            Priority: required
            Section: shells
            Installed-Size: 7164
            Maintainer: Matthias Klose <doko@debian.org>
            Architecture: amd64
            Multi-Arch: foreign
            Version: 5.2.15-2+b2
            Description: GNU Bourne Again SHell
             Bash is an sh-compatible command language interpreter that executes
             commands read from the standard input or from a file.
            Homepage: https://tiswww.case.edu/php/chet/bash/bashtop.html

            Package: libc6
            Status: install ok installed
            Priority: optional
            Section: libs
            Installed-Size: 12986
            Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
            Architecture: amd64
            Multi-Arch: same
            Source: glibc
            Version: 2.36-9+deb12u4
            Description: GNU C Library: Shared libraries
             Contains the standard libraries that are used by nearly all programs on
             the system.
            Homepage: https://www.gnu.org/software/libc/libc.html

            Package: openssh-server
            Status: install ok installed
            Priority: optional
            Section: net
            Installed-Size: 1890
            Maintainer: Debian OpenSSH Maintainers <debian-ssh@lists.debian.org>
            Architecture: amd64
            Source: openssh
            Version: 1:9.2p1-2+deb12u2
            Description: secure shell (SSH) server, for secure access from remote machines
             This is the portable version of OpenSSH.
            Homepage: https://www.openssh.com/

            Package: removed-pkg
            Status: deinstall ok config-files
            Architecture: amd64
            Version: 1.0-1
            Description: a package removed but not purged (not installed)

            """;

    private static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
