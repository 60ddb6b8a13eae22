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
import io.guestflow.pool.CachedBuild;
import io.guestflow.samples.SampleGuests;
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
 * Guests with dirty free space for the sparsify tests, built in one launch
 * and cached under {@code <cacheRoot>/fixtures/sparsify-v<RECIPE>}.
 *
 * <p>Images A and B hold the same files (same seeds) on an MBR disk: an ext4
 * partition, a swap partition, and an LVM PV whose volume group has an ext4
 * root LV, a swap LV and free extents. Large files of random data were
 * written, synced and deleted on both ext4 filesystems, the swap areas were
 * filled with random data before mkswap, and the VG's free extents held a
 * random-filled LV that was removed: the free space is all non-zero. A and B
 * differ only in their VG name and (random) UUIDs, so one appliance can
 * read both. C is a small disk with a LUKS partition.
 */
final class SparsifyFixture {
    /** Bump when the recipe below changes. */
    static final String RECIPE = "2";
    static final String A = "guest-a.qcow2";
    static final String B = "guest-b.qcow2";
    static final String LUKS = "luks.qcow2";
    static final long DISK_BYTES = 400L << 20;
    static final String SWAP_PART_UUID = "6f1d2c3b-1111-4a5b-8c9d-0e1f2a3b4c5d";
    static final String SWAP_LV_UUID = "6f1d2c3b-2222-4a5b-8c9d-0e1f2a3b4c5d";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The images' folder and what their filesystems hold. */
    record Built(Path dir, Manifest manifest) {
        Path image(String name) {
            return dir.resolve(name);
        }
    }

    /**
     * Checksums of every regular file per filesystem ("part1", "root"), and
     * per swap area ("part2", "lvswap") its label and UUID.
     */
    record Manifest(Map<String, Map<String, String>> files, Map<String, List<String>> swaps) {
    }

    private SparsifyFixture() {
    }

    static String vgOf(String image) {
        return image.equals(A) ? "sparsevga" : "sparsevgb";
    }

    static synchronized Built ensure() {
        Path done = CachedBuild.ensure(Fixtures.cacheRoot().resolve("fixtures").resolve("sparsify-v" + RECIPE),
                d -> Files.isRegularFile(d.resolve("manifest.json")), SparsifyFixture::build);
        try {
            return new Built(done, JSON.readValue(done.resolve("manifest.json").toFile(), Manifest.class));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void build(Path work) throws IOException {
        Path random = Files.createDirectories(work.resolve("random"));
        Path bigPart = randomFile(random.resolve("big1"), 70L << 20, 1);
        Path bigRoot = randomFile(random.resolve("big2"), 60L << 20, 2);
        Path keepPart = randomFile(random.resolve("keep1"), 3L << 20, 3);
        Path keepRoot = randomFile(random.resolve("keep2"), 5L << 20, 4);
        Path swapFill = randomFile(random.resolve("swap"), 32L << 20, 5);
        Manifest manifest = null;
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
             HandlePool.Lease lease = pool.lease("sparsify-fixture")) {
            List<Drive> drives = new ArrayList<>();
            GuestFS creator = new GuestFS();
            try {
                for (String name : List.of(A, B, LUKS)) {
                    Path p = work.resolve(name);
                    creator.disk_create(p.toString(), "qcow2", name.equals(LUKS) ? 64L << 20 : DISK_BYTES);
                    drives.add(new Drive(p.toUri(), "qcow2", false, null));
                }
            } finally {
                creator.close();
            }
            ApplianceHandle h = lease.launch(drives, GuestEventListener.NONE);
            GuestFS g = h.gfs();
            for (String[] disk : new String[][] {{"/dev/sda", A}, {"/dev/sdb", B}}) {
                Manifest m = guest(g, disk[0], vgOf(disk[1]), random, bigPart, bigRoot, keepPart, keepRoot, swapFill);
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
        JSON.writerWithDefaultPrettyPrinter().writeValue(work.resolve("manifest.json").toFile(), manifest);
    }

    private static Manifest guest(GuestFS g, String disk, String vg, Path random, Path bigPart, Path bigRoot,
                                  Path keepPart, Path keepRoot, Path swapFill) throws LibGuestFSException, IOException {
        long mb = 2048; // sectors per MiB
        g.part_init(disk, "mbr");
        g.part_add(disk, "p", mb, mb + 130 * mb - 1);
        g.part_add(disk, "p", mb + 130 * mb, mb + 162 * mb - 1);
        g.part_add(disk, "p", mb + 162 * mb, -mb);
        g.part_set_mbr_id(disk, 2, 0x82);
        g.part_set_mbr_id(disk, 3, 0x8e);
        String uuidBase = vg.equals(vgOf(A)) ? "5ba45e00-000a-4000-8000-00000000000" : "5ba45e00-000b-4000-8000-00000000000";
        SampleGuests.ext4(g, disk + "1", "data", uuidBase + "1");
        dirtySwap(g, disk + "2", swapFill, "swappart", SWAP_PART_UUID);

        g.pvcreate(disk + "3");
        g.vgcreate(vg, new String[] {disk + "3"});
        g.lvcreate("root", vg, 120);
        g.lvcreate("swap", vg, 32);
        SampleGuests.ext4(g, "/dev/" + vg + "/root", "root", uuidBase + "2");
        dirtySwap(g, "/dev/" + vg + "/swap", swapFill, "swaplv", SWAP_LV_UUID);
        // the VG's free extents: filled with random data by an LV that is then removed
        g.lvcreate_free("scratch", vg, 100);
        long scratch = g.blockdev_getsize64("/dev/" + vg + "/scratch");
        g.upload(randomFile(random.resolve("vg-" + vg), scratch, 6).toString(), "/dev/" + vg + "/scratch");
        g.sync();
        g.lvremove("/dev/" + vg + "/scratch");

        Map<String, Map<String, String>> files = new TreeMap<>();
        g.mount(disk + "1", "/");
        g.write("/notes.txt", "data partition of the sparsify fixture\n".getBytes());
        g.upload(keepPart.toString(), "/keep.bin");
        deleteAfterSync(g, bigPart, "/big.bin");
        files.put("part1", checksums(g));
        g.umount_all();

        g.mount("/dev/" + vg + "/root", "/");
        g.mkdir_p("/etc");
        g.mkdir_p("/home/alice");
        g.write("/etc/hostname", "sparse01\n".getBytes());
        g.write("/etc/fstab", ("LABEL=root / ext4 defaults 0 1\nLABEL=data /data ext4 defaults 0 2\n"
                + "UUID=" + SWAP_PART_UUID + " none swap sw 0 0\nLABEL=swaplv none swap sw 0 0\n").getBytes());
        g.write("/home/alice/todo.txt", "shrink the images before upload\n".getBytes());
        g.upload(keepRoot.toString(), "/home/alice/photo.raw");
        g.ln_s("photo.raw", "/home/alice/link");
        deleteAfterSync(g, bigRoot, "/home/alice/big.iso");
        files.put("root", checksums(g));
        g.umount_all();

        Map<String, List<String>> swaps = new TreeMap<>();
        swaps.put("part2", List.of(g.vfs_label(disk + "2"), g.vfs_uuid(disk + "2")));
        swaps.put("lvswap", List.of(g.vfs_label("/dev/" + vg + "/swap"), g.vfs_uuid("/dev/" + vg + "/swap")));
        return new Manifest(files, swaps);
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

    private static Path randomFile(Path p, long size, long seed) throws IOException {
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
