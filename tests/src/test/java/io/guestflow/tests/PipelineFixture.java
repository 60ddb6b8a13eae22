package io.guestflow.tests;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * A guest with something for every step of a pipeline: the sysprep Debian
 * fixture (an OS on LVM with clutter to remove) whose root and /usr
 * filesystems also hold 48 MiB of deleted data for sparsify to reclaim.
 * Built once with one launch and cached by recipe.
 */
final class PipelineFixture {
    static final String RECIPE = "1";
    static final String FILE = "pipeline-debian.qcow2";
    static final long DELETED_BYTES = 48L << 20;

    private static Path image;

    private PipelineFixture() {
    }

    static synchronized Path image() {
        if (image != null) {
            return image;
        }
        Path dir = Fixtures.cacheRoot().resolve("fixtures").resolve("pipeline-v" + RECIPE + "-sysprep-v"
                + SysprepFixtures.RECIPE + "-samples-v" + io.guestflow.samples.SampleGuests.RECIPE_VERSION);
        if (!Files.isRegularFile(dir.resolve(FILE))) {
            build(dir);
        }
        image = dir.resolve(FILE);
        return image;
    }

    private static void build(Path dir) {
        Path work = dir.resolveSibling(dir.getFileName() + ".building");
        try {
            FileTrees.delete(work);
            Files.createDirectories(work);
            Path disk = work.resolve(FILE);
            Files.copy(SysprepFixtures.dir().resolve(SysprepFixtures.DEBIAN), disk);
            try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
                 HandlePool.Lease lease = pool.lease("pipeline-fixture")) {
                ApplianceHandle h = lease.launch(List.of(new Drive(disk.toUri(), "qcow2", false, null)),
                        GuestEventListener.NONE);
                GuestFS g = h.gfs();
                g.mount("/dev/vgdeb/root", "/");
                g.mount("/dev/vgdeb/usr", "/usr");
                // written, synced, deleted: allocated in the image, free in the filesystems
                g.fill_pattern("deleted root data ", (int) (DELETED_BYTES / 2), "/junk");
                g.fill_pattern("deleted usr data ", (int) (DELETED_BYTES / 2), "/usr/junk");
                g.sync();
                g.rm("/junk");
                g.rm("/usr/junk");
                g.umount_all();
                g.shutdown();
            }
            FileTrees.delete(dir);
            Files.move(work, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (LibGuestFSException e) {
            throw new IllegalStateException("cannot build the pipeline fixture: " + e.getMessage(), e);
        }
    }
}
