package io.guestflow.processors.job;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Where jobs may read and write: every local disk must resolve (symlinks
 * included) to a file under the image root, every output under the output
 * root. Device nodes are never disks of a job. Remote URIs are not paths and
 * pass through.
 */
public final class PathPolicy {
    private final Path imageRoot;
    private final Path outputRoot;

    public PathPolicy(Path imageRoot, Path outputRoot) {
        this.imageRoot = realOrAbsolute(imageRoot);
        this.outputRoot = realOrAbsolute(outputRoot);
    }

    public Path imageRoot() {
        return imageRoot;
    }

    public Path outputRoot() {
        return outputRoot;
    }

    /** Checks every disk and the output of {@code job}; throws with the reason. */
    public void check(Job job) {
        for (Job.Disk d : job.disks()) {
            io.guestflow.pool.Drive drive = io.guestflow.pool.Drive.of(d.uri());
            if (drive.isLocal()) {
                checkDisk(job.jobId(), drive.path());
            }
        }
        if (job.output() != null) {
            checkOutput(job.jobId(), io.guestflow.pool.Drive.of(job.output().uri()).path());
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

    private void checkOutput(String jobId, Path p) {
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
