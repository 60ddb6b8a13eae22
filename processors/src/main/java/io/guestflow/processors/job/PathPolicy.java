package io.guestflow.processors.job;

import io.guestflow.pool.Drive;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Where jobs may read and write: every host path a job names goes through
 * here. Local disks must resolve (symlinks included) to a file under the
 * image root; outputs to a path under the output root that is not a link and
 * does not exist yet (unless the job says {@code overwrite}); directories an
 * operation's options name ({@link HostPath}: sparsify's {@code tmpDir},
 * also inside pipeline steps) under the tmp root. Device nodes are never
 * disks of a job. Remote URIs are not paths and pass through. What an image
 * itself makes qemu open is the image probe's part (ImageProbe).
 */
public final class PathPolicy {
    private final Path imageRoot;
    private final Path outputRoot;
    private final Path tmpRoot;
    private final OperationRegistry registry;

    /**
     * A host path that a job's options name.
     *
     * @param option where in the job it stands, e.g. {@code options.tmpDir}
     */
    public record HostPath(String option, String path, Kind kind) {
        public enum Kind {
            /** A directory the operation creates temporary files in: must lie under the tmp root. */
            TMP_DIR
        }
    }

    /** Disks and outputs only: options naming host paths are refused (no tmp root). */
    public PathPolicy(Path imageRoot, Path outputRoot) {
        this(imageRoot, outputRoot, null, null);
    }

    /**
     * @param tmpRoot  where directories named in options must lie; null refuses them
     * @param registry the operations, which say which options name host paths; null: none are checked
     */
    public PathPolicy(Path imageRoot, Path outputRoot, Path tmpRoot, OperationRegistry registry) {
        this.imageRoot = realOrAbsolute(imageRoot);
        this.outputRoot = realOrAbsolute(outputRoot);
        this.tmpRoot = tmpRoot == null ? null : realOrAbsolute(tmpRoot);
        this.registry = registry;
    }

    public Path imageRoot() {
        return imageRoot;
    }

    public Path outputRoot() {
        return outputRoot;
    }

    /** Checks every disk, the output and every host path in the options of {@code job}; throws with the reason. */
    public void check(Job job) {
        for (Job.Disk d : job.disks()) {
            Drive drive = Drive.of(d.uri());
            if (drive.isLocal()) {
                checkDisk(job.jobId(), drive.path());
            }
        }
        if (job.output() != null) {
            checkOutput(job.jobId(), Drive.of(job.output().uri()).path(), job.output().overwrite());
        }
        if (registry != null && registry.supports(job.type())) {
            for (HostPath p : registry.get(job.type()).hostPaths(job)) {
                checkTmpDir(job.jobId(), p);
            }
        }
    }

    private void checkDisk(String jobId, Path p) {
        if (p.normalize().startsWith("/dev")) {
            throw new JobRejectedException(jobId, "disk " + p + " is a device path; jobs may only name image files");
        }
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            // not-found is for the image probe to say; the policy still refuses paths outside the root
            if (!p.normalize().startsWith(imageRoot)) {
                throw outside(jobId, "disk", p, imageRoot);
            }
            return;
        }
        Path real;
        try {
            real = p.toRealPath();
        } catch (IOException e) {
            throw new JobRejectedException(jobId, "disk " + p + " cannot be resolved: " + e.getMessage());
        }
        if (real.startsWith("/dev")) {
            throw new JobRejectedException(jobId, "disk " + p + " resolves to device " + real + "; jobs may only name image files");
        }
        if (!real.startsWith(imageRoot)) {
            throw outside(jobId, "disk", p, imageRoot);
        }
    }

    private void checkOutput(String jobId, Path p, boolean overwrite) {
        Path parent = p.getParent();
        if (parent == null || p.getFileName() == null) {
            throw new JobRejectedException(jobId, "output " + p + " names no file (a folder and a file name are needed)");
        }
        Path realParent;
        try {
            realParent = parent.toRealPath();
        } catch (IOException e) {
            throw new JobRejectedException(jobId, "output folder " + parent + " does not exist");
        }
        if (Files.isSymbolicLink(p)) {
            throw new JobRejectedException(jobId, "output " + p + " is a symbolic link");
        }
        if (!realParent.resolve(p.getFileName()).startsWith(outputRoot)) {
            throw outside(jobId, "output", p, outputRoot);
        }
        if (TempArtifacts.isArtifact(p.getFileName().toString())) {
            throw new JobRejectedException(jobId, "output " + p + " is named like a temporary file of another job");
        }
        if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                throw new JobRejectedException(jobId, "output " + p + " exists and is not a regular file");
            }
            if (!overwrite) {
                throw new JobRejectedException(jobId, "output " + p + " exists; it is replaced only when the job says"
                        + " \"overwrite\": true in its output (it then keeps its mode; --overwrite on the command line)");
            }
        }
    }

    private void checkTmpDir(String jobId, HostPath hp) {
        Path p = Path.of(hp.path());
        if (tmpRoot == null) {
            throw new JobRejectedException(jobId, hp.option() + " names the host directory " + p
                    + ", and this engine has no tmp root (guestflow.engine.tmp-root) for jobs to name");
        }
        Path real;
        try {
            real = p.toRealPath();
        } catch (IOException e) {
            if (!p.normalize().startsWith(tmpRoot)) {
                throw outside(jobId, hp.option(), p, tmpRoot);
            }
            throw new JobRejectedException(jobId, hp.option() + " " + p + " does not exist");
        }
        if (!real.startsWith(tmpRoot)) {
            throw outside(jobId, hp.option(), p, tmpRoot);
        }
        if (!Files.isDirectory(real)) {
            throw new JobRejectedException(jobId, hp.option() + " " + p + " is not a directory");
        }
    }

    private static JobRejectedException outside(String jobId, String what, Path p, Path root) {
        return new JobRejectedException(jobId, what + " " + p + " is outside the allowed root " + root);
    }

    private static Path realOrAbsolute(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }
}
