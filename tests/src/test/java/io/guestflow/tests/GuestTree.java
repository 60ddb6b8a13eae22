package io.guestflow.tests;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import com.redhat.et.libguestfs.StatNS;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Decryption;
import io.guestflow.pool.Drive;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.LuksKey;
import io.guestflow.pool.PoolConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Every path of a guest with its type, mode, owner and, for regular files,
 * size and SHA-256 (symlinks: their target). Directory sizes are left out:
 * they depend on the history of a directory, not on its content. Read
 * through libguestfs with the filesystems mounted read-only at their
 * inspected mountpoints.
 */
public record GuestTree(String distro, Map<String, String> entries, String pvUuid, String vgUuid) {

    /**
     * The trees of every guest on {@code images} (one guest per image; images
     * must not collide on LVM names), in one launch, by distro.
     */
    public static Map<String, GuestTree> read(List<Path> images) {
        return read(images, List.of());
    }

    /** The same, on images whose LUKS containers {@code keys} open (as the virt tools' {@code --key}). */
    public static Map<String, GuestTree> read(List<Path> images, List<LuksKey> keys) {
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
             HandlePool.Lease lease = pool.lease("guest-tree")) {
            List<Drive> drives = images.stream().map(p -> new Drive(p.toUri(), null, true, null)).toList();
            ApplianceHandle h = lease.launch(drives, GuestEventListener.NONE);
            Decryption.open(h, keys);
            return read(h.gfs(), h.gfs().inspect_os());
        } catch (LibGuestFSException e) {
            throw new IllegalStateException("cannot read guest trees: " + e.getMessage(), e);
        }
    }

    /** The trees of the guests {@code roots} on a launched appliance, by distro; leaves nothing mounted. */
    public static Map<String, GuestTree> read(GuestFS g, String[] roots) throws LibGuestFSException {
        Map<String, GuestTree> out = new TreeMap<>();
        g.umount_all();
        for (String root : roots) {
            String distro = g.inspect_get_distro(root);
            List<Map.Entry<String, String>> mps = new ArrayList<>(g.inspect_get_mountpoints(root).entrySet());
            mps.sort(Comparator.comparingInt(e -> e.getKey().length()));
            for (Map.Entry<String, String> mp : mps) {
                g.mount_ro(mp.getValue(), mp.getKey());
            }
            Map<String, String> entries = entries(g);
            g.umount_all();
            String pv = null;
            String vg = null;
            if (root.startsWith("/dev/vgdeb/")) {
                pv = g.pvuuid(g.pvs()[0]);
                vg = g.vguuid("vgdeb");
            }
            out.put(distro, new GuestTree(distro, entries, pv, vg));
        }
        return out;
    }

    private static String checksum(Map<String, String> sums, String path) {
        String sum = sums.get(path);
        if (sum == null) {
            throw new IllegalStateException("no checksum for regular file " + path);
        }
        return sum;
    }

    /** The entries of the tree mounted at {@code /} on a launched appliance. */
    static Map<String, String> entries(GuestFS g) throws LibGuestFSException {
        Path tmp;
        try {
            tmp = Files.createTempDirectory("guest-tree");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            g.find0("/", tmp.resolve("names").toString());
            List<String> names = Arrays.stream(Files.readString(tmp.resolve("names"), StandardCharsets.UTF_8)
                    .split("\0")).filter(n -> !n.isEmpty() && !n.startsWith("lost+found")).sorted().toList();
            g.checksums_out("sha256", "/", tmp.resolve("sums").toString());
            Map<String, String> sums = new TreeMap<>();
            for (String line : Files.readAllLines(tmp.resolve("sums"))) {
                String path = line.substring(66);
                path = path.startsWith("./") ? path.substring(1) : path.startsWith("/") ? path : "/" + path;
                sums.put(path, line.substring(0, 64));
            }
            // lstatnslist and readlinklist take names within one directory
            Map<String, List<String>> byDir = new TreeMap<>();
            for (String n : names) {
                int slash = n.lastIndexOf('/');
                byDir.computeIfAbsent(slash < 0 ? "" : n.substring(0, slash), k -> new ArrayList<>())
                        .add(slash < 0 ? n : n.substring(slash + 1));
            }
            Map<String, String> entries = new TreeMap<>();
            for (Map.Entry<String, List<String>> d : byDir.entrySet()) {
                String dirPath = "/" + d.getKey();
                String prefix = d.getKey().isEmpty() ? "/" : dirPath + "/";
                String[] batch = d.getValue().toArray(String[]::new);
                StatNS[] st = g.lstatnslist(dirPath, batch);
                String[] links = g.readlinklist(dirPath, batch);
                for (int j = 0; j < batch.length; j++) {
                    String path = prefix + batch[j];
                    long type = st[j].st_mode & 0170000;
                    String owner = String.format("%o %d:%d", st[j].st_mode & 07777, st[j].st_uid, st[j].st_gid);
                    entries.put(path, switch ((int) type) {
                        case 0100000 -> "file " + owner + " " + st[j].st_size + " " + checksum(sums, path);
                        case 0040000 -> "dir " + owner;
                        case 0120000 -> "link -> " + links[j];
                        default -> "special " + Long.toOctalString(type) + " " + owner;
                    });
                }
            }
            return entries;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            try {
                io.guestflow.pool.FileTrees.delete(tmp);
            } catch (IOException ignored) {
                // two small files in a temp dir
            }
        }
    }
}
