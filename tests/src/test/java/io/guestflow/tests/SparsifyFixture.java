package io.guestflow.tests;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Guests for the sparsify tests, built in one launch and cached under
 * {@code <cacheRoot>/fixtures/sparsify-v<RECIPE>}.
 *
 * <p>Images A and B hold the same files (same seeds) on a 400 MiB MBR disk:
 * an ext4 partition ({@link #P1}), a swap partition, an xfs partition (made
 * on the host, see {@link ResizeFixtures#smallXfs}), and an LVM PV
 * ({@link #P4}) whose volume group has an ext4 root LV, a swap LV and free
 * extents. Each image is dirty in some places and already sparse in others,
 * as images in the wild are:
 * <ul>
 *   <li>dirty: large files of random data were written, synced and deleted on
 *   both ext4 filesystems and on the xfs; the swap partition was filled with
 *   random data before mkswap; the VG's free extents held a random-filled LV
 *   that was removed;</li>
 *   <li>already sparse: the images are converted by qemu-img after the build,
 *   so everything that reads as zeroes is a hole. The ext4 filesystems are made
 *   with lazy inode-table init, as installers make them, and were only ever
 *   mounted with {@code noinit_itable}: their inode tables were never written
 *   (holes), which a plain read-write mount would start filling with zeroes.
 *   The swap LV never held more than its header.</li>
 * </ul>
 * The qcow2 images have 16 KiB clusters, so one L2 table maps 32 MiB: the
 * clean swap LV spans regions of the disk that hold no cluster at all, where a
 * discard makes qemu allocate an L2 table (with 64 KiB clusters the regions
 * are 512 MiB, larger than the disk). A and B differ only in their VG name and
 * UUIDs, so one appliance can read both. C is a small disk with a LUKS
 * partition. Every build of a recipe gives the same allocation: fixed UUIDs,
 * fixed seeds, nothing written by lazy init.
 */
final class SparsifyFixture {
    /** Bump when the recipe below changes. */
    static final String RECIPE = "3";
    static final String A = "guest-a.qcow2";
    static final String B = "guest-b.qcow2";
    static final String LUKS = "luks.qcow2";
    static final long DISK_BYTES = 400L << 20;
    static final int QCOW2_CLUSTER = 16 << 10;
    /** Where the ext4 partition and the LVM PV start on the disk. */
    static final long P1 = 1L << 20;
    static final long P4 = 165L << 20;
    static final String SWAP_PART_UUID = "6f1d2c3b-1111-4a5b-8c9d-0e1f2a3b4c5d";
    static final String SWAP_LV_UUID = "6f1d2c3b-2222-4a5b-8c9d-0e1f2a3b4c5d";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final BuiltOnce<Path> DIR = BuiltOnce.cached("fixtures/sparsify-v" + RECIPE,
            d -> Files.isRegularFile(d.resolve("manifest.json")), SparsifyFixture::build);

    /** The images' folder and what their filesystems hold. */
    record Built(Path dir, Manifest manifest) {
        Path image(String name) {
            return dir.resolve(name);
        }
    }

    /**
     * Checksums of every regular file per filesystem ("part1", "xfs", "root"),
     * and per swap area ("part2", "lvswap") its label and UUID.
     */
    record Manifest(Map<String, Map<String, String>> files, Map<String, List<String>> swaps) {
    }

    private SparsifyFixture() {
    }

    static String vgOf(String image) {
        return image.equals(A) ? "sparsevga" : "sparsevgb";
    }

    static Built ensure() {
        Path done = DIR.get();
        try {
            return new Built(done, JSON.readValue(done.resolve("manifest.json").toFile(), Manifest.class));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void build(Path work) throws IOException {
        Path random = Files.createDirectories(work.resolve("random"));
        Path bigPart = randomFile(random.resolve("big1"), 50L << 20, 1);
        Path bigRoot = randomFile(random.resolve("big2"), 40L << 20, 2);
        Path keepPart = randomFile(random.resolve("keep1"), 3L << 20, 3);
        Path keepRoot = randomFile(random.resolve("keep2"), 5L << 20, 4);
        Path swapFill = randomFile(random.resolve("swap"), 16L << 20, 5);
        Path keepXfs = randomFile(random.resolve("keep3"), 2L << 20, 7);
        Path bigXfs = randomFile(random.resolve("big3"), 20L << 20, 8);
        Manifest manifest = null;
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
             HandlePool.Lease lease = pool.lease("sparsify-fixture")) {
            List<Drive> drives = new ArrayList<>();
            GuestFS creator = new GuestFS();
            try {
                for (String name : List.of(A, B, LUKS)) {
                    Path p = work.resolve(name.equals(LUKS) ? name : "built-" + name);
                    creator.disk_create(p.toString(), "qcow2", name.equals(LUKS) ? 64L << 20 : DISK_BYTES);
                    drives.add(new Drive(p.toUri(), "qcow2", false, null));
                }
            } finally {
                creator.close();
            }
            ApplianceHandle h = lease.launch(drives, GuestEventListener.NONE);
            GuestFS g = h.gfs();
            for (String[] disk : new String[][] {{"/dev/sda", A}, {"/dev/sdb", B}}) {
                Manifest m = guest(g, disk[0], vgOf(disk[1]), new Path[] {random.resolve("vg-" + disk[1]), bigPart,
                        bigRoot, keepPart, keepRoot, swapFill, keepXfs, bigXfs});
                if (manifest == null) {
                    manifest = m;
                } else if (!manifest.equals(m)) {
                    throw new IllegalStateException("guests A and B were meant to hold the same files");
                }
            }
            g.part_disk("/dev/sdc", "mbr");
            g.luks_format("/dev/sdc1", "fixture-key", 0);
            h.shutdown();
        } catch (LibGuestFSException e) {
            throw new IllegalStateException("cannot build the sparsify fixture: " + e.getMessage(), e);
        }
        FileTrees.delete(random);
        for (String name : List.of(A, B)) {
            // what reads as zeroes becomes a hole, as in an image that went through qemu-img convert
            Path built = work.resolve("built-" + name);
            VirtTool.run(java.time.Duration.ofMinutes(5), "qemu-img", "convert", "-q", "-f", "qcow2", "-O", "qcow2",
                    "-o", "cluster_size=" + QCOW2_CLUSTER, built.toString(), work.resolve(name).toString())
                    .orFail("qemu-img convert");
            Files.delete(built);
        }
        JSON.writerWithDefaultPrettyPrinter().writeValue(work.resolve("manifest.json").toFile(), manifest);
    }

    /** @param data the host files: VG fill (written here), big1, big2, keep1, keep2, swap fill, keep3, big3 */
    private static Manifest guest(GuestFS g, String disk, String vg, Path[] data) throws LibGuestFSException, IOException {
        long mb = 2048; // sectors per MiB
        g.part_init(disk, "mbr");
        g.part_add(disk, "p", P1 / 512, 101 * mb - 1);
        g.part_add(disk, "p", 101 * mb, 117 * mb - 1);
        g.part_add(disk, "p", 117 * mb, P4 / 512 - 1);
        g.part_add(disk, "p", P4 / 512, -mb);
        g.part_set_mbr_id(disk, 2, 0x82);
        g.part_set_mbr_id(disk, 4, 0x8e);
        String uuidBase = vg.equals(vgOf(A)) ? "5ba45e00-000a-4000-8000-00000000000" : "5ba45e00-000b-4000-8000-00000000000";
        lazyExt4(g, disk + "1", "data", uuidBase + "1");
        dirtySwap(g, disk + "2", data[5], "swappart", SWAP_PART_UUID);
        Path xfs = ResizeFixtures.smallXfs(48, "xfsdata", uuidBase + "3");
        g.upload(xfs.toString(), disk + "3");
        Files.delete(xfs);

        g.pvcreate(disk + "4");
        g.vgcreate(vg, new String[] {disk + "4"});
        g.lvcreate("root", vg, 100);
        g.lvcreate("swap", vg, 80);
        lazyExt4(g, "/dev/" + vg + "/root", "root", uuidBase + "2");
        // a swap LV that was never used: its header is all the image holds of it
        g.mkswap("/dev/" + vg + "/swap", Map.of("label", "swaplv", "uuid", SWAP_LV_UUID));
        // the VG's free extents: filled with random data by an LV that is then removed
        g.lvcreate_free("scratch", vg, 100);
        long scratch = g.blockdev_getsize64("/dev/" + vg + "/scratch");
        g.upload(randomFile(data[0], scratch, 6).toString(), "/dev/" + vg + "/scratch");
        g.sync();
        g.lvremove("/dev/" + vg + "/scratch");

        Map<String, Map<String, String>> files = new TreeMap<>();
        mountExt4(g, disk + "1");
        g.write("/notes.txt", "data partition of the sparsify fixture\n".getBytes());
        g.upload(data[3].toString(), "/keep.bin");
        deleteAfterSync(g, data[1], "/big.bin");
        files.put("part1", checksums(g));
        g.umount_all();

        g.mount(disk + "3", "/");
        g.mkdir_p("/srv");
        g.write("/srv/readme.txt", "xfs partition of the sparsify fixture\n".getBytes());
        g.upload(data[6].toString(), "/srv/keep.bin");
        deleteAfterSync(g, data[7], "/srv/big.bin");
        files.put("xfs", checksums(g));
        g.umount_all();

        mountExt4(g, "/dev/" + vg + "/root");
        g.mkdir_p("/etc");
        g.mkdir_p("/home/alice");
        g.write("/etc/hostname", "sparse01\n".getBytes());
        g.write("/etc/fstab", ("LABEL=root / ext4 defaults 0 1\nLABEL=data /data ext4 defaults 0 2\n"
                + "LABEL=xfsdata /srv xfs defaults 0 2\n"
                + "UUID=" + SWAP_PART_UUID + " none swap sw 0 0\nLABEL=swaplv none swap sw 0 0\n").getBytes());
        g.write("/home/alice/todo.txt", "shrink the images before upload\n".getBytes());
        g.upload(data[4].toString(), "/home/alice/photo.raw");
        g.ln_s("photo.raw", "/home/alice/link");
        deleteAfterSync(g, data[2], "/home/alice/big.iso");
        files.put("root", checksums(g));
        g.umount_all();

        Map<String, List<String>> swaps = new TreeMap<>();
        swaps.put("part2", List.of(g.vfs_label(disk + "2"), g.vfs_uuid(disk + "2")));
        swaps.put("lvswap", List.of(g.vfs_label("/dev/" + vg + "/swap"), g.vfs_uuid("/dev/" + vg + "/swap")));
        return new Manifest(files, swaps);
    }

    /** ext4 as installers make it: inode tables left for the kernel to initialise lazily. */
    private static void lazyExt4(GuestFS g, String device, String label, String uuid) throws LibGuestFSException {
        g.mke2fs(device, Map.of("fstype", "ext4", "label", label, "uuid", uuid, "lazyitableinit", true));
    }

    /** Read-write without ext4lazyinit, so the build writes nothing the recipe does not say. */
    private static void mountExt4(GuestFS g, String device) throws LibGuestFSException {
        g.mount_options("noinit_itable", device, "/");
    }

    /** Random content first, then a swap header: the swap area's pages are in use, as in a guest that swapped. */
    private static void dirtySwap(GuestFS g, String dev, Path swapFill, String label, String uuid) throws LibGuestFSException {
        g.upload(swapFill.toString(), dev);
        g.mkswap(dev, Map.of("label", label, "uuid", uuid));
    }

    /** Synced before the delete, so the data reached the disk and stays in the free blocks. */
    private static void deleteAfterSync(GuestFS g, Path host, String guest) throws LibGuestFSException {
        g.upload(host.toString(), guest);
        g.sync();
        g.rm(guest);
        g.sync();
    }

    /** sha256 of every regular file under the mounted root. */
    static Map<String, String> checksums(GuestFS g) throws LibGuestFSException {
        Map<String, String> out = new TreeMap<>();
        for (String rel : g.find("/")) {
            String p = "/" + rel;
            if (g.is_file(p) && !p.startsWith("/lost+found")) {
                out.put(p, g.checksum("sha256", p));
            }
        }
        return out;
    }

    /** {@code size} bytes of seeded random data in {@code p}: the same file for the same seed. */
    static Path randomFile(Path p, long size, long seed) throws IOException {
        Random r = new Random(seed);
        byte[] buf = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(p)) {
            for (long left = size; left > 0; left -= buf.length) {
                r.nextBytes(buf);
                out.write(buf, 0, (int) Math.min(buf.length, left));
            }
        }
        return p;
    }
}
