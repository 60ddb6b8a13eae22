package io.guestflow.scan;

import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.nio.file.FileVisitResult;
import java.nio.file.SimpleFileVisitor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds a scan's images and gives each one its deterministic job id:
 * {@code <scan>-<sha256(scan, path, fingerprint)>}, so the same image with
 * the same content always maps to the same job, on any engine instance.
 */
public final class ImageWalker {
    private static final Logger LOG = LoggerFactory.getLogger(ImageWalker.class);
    private ImageWalker() {
    }

    /** Every regular file under the roots that an include glob matches and no exclude glob does, sorted by path. */
    public static List<ScanImage> walk(ScanConfig scan, String runId) {
        List<Matcher> include = scan.include().stream().map(Matcher::new).toList();
        List<Matcher> exclude = scan.exclude().stream().map(Matcher::new).toList();
        List<ScanImage> out = new ArrayList<>();
        for (Path root : scan.roots()) {
            Path r = root.toAbsolutePath().normalize();
            if (!Files.isDirectory(r)) {
                throw new GuestflowException(ErrorCode.DISK_NOT_FOUND, "scan " + scan.name() + ": root " + r + " is not a directory");
            }
            try {
                Files.walkFileTree(r, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                        // symlinks count when they point at a regular file; the path policy checks where
                        if (Files.isRegularFile(f) && include.stream().anyMatch(m -> m.matches(r, f))
                                && exclude.stream().noneMatch(m -> m.matches(r, f))) {
                            out.add(image(scan, f, runId));
                        }
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path f, IOException e) {
                        // one unreadable folder must not stop the scan of the others
                        LOG.warn("scan {}: skipping {}: {}", scan.name(), f, e.toString());
                        return FileVisitResult.CONTINUE;
                    }
                });
            } catch (IOException e) {
                throw new GuestflowException(ErrorCode.DISK_UNREADABLE, "scan " + scan.name() + ": cannot walk " + r + ": " + e.getMessage(), e);
            }
        }
        out.sort(java.util.Comparator.comparing(ScanImage::path));
        // two roots may overlap: one job per image
        List<ScanImage> unique = new ArrayList<>();
        for (ScanImage i : out) {
            if (unique.isEmpty() || !unique.get(unique.size() - 1).path().equals(i.path())) {
                unique.add(i);
            }
        }
        return unique;
    }

    static ScanImage image(ScanConfig scan, Path file, String runId) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            String fp = fingerprint(scan.fingerprint(), file, a);
            String path = file.toString();
            // not incremental: the run is part of the identity, so every fire runs every image
            String id = jobId(scan.name(), path, scan.incremental() ? fp : fp + "\0run=" + runId);
            return new ScanImage(path, a.size(), a.lastModifiedTime().toInstant().toString(), fp, id);
        } catch (IOException e) {
            // an image that vanished or cannot be stat'ed still gets a row: its job will be rejected with the reason
            String path = file.toString();
            String fp = "unreadable:" + e.getClass().getSimpleName();
            return new ScanImage(path, -1, Instant.EPOCH.toString(), fp, jobId(scan.name(), path, fp + "\0run=" + runId));
        }
    }

    /** size, mtime (ns) and inode: any write, copy-over or replacement changes one of them. */
    static String fingerprint(ScanConfig.Fingerprint kind, Path file, BasicFileAttributes a) throws IOException {
        if (kind == ScanConfig.Fingerprint.SHA256) {
            return "sha256:" + sha256(file);
        }
        java.nio.file.attribute.FileTime t = a.lastModifiedTime();
        long nanos = t.to(java.util.concurrent.TimeUnit.SECONDS) * 1_000_000_000L + t.toInstant().getNano();
        return "size=" + a.size() + ",mtime=" + nanos + ",file=" + a.fileKey();
    }

    /** [A-Za-z0-9._:-], at most 128 characters: what the job parser accepts. */
    public static String jobId(String scan, String path, String fingerprint) {
        return scan + "-" + sha256Hex((scan + "\0" + path + "\0" + fingerprint).getBytes(StandardCharsets.UTF_8)).substring(0, 32);
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest md = digest();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String sha256Hex(byte[] b) {
        return HexFormat.of().formatHex(digest().digest(b));
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A glob without '/' matches the file name at any depth; with '/', the path relative to the root. */
    private static final class Matcher {
        private final PathMatcher m;
        private final boolean byName;

        Matcher(String glob) {
            this.m = FileSystems.getDefault().getPathMatcher("glob:" + glob);
            this.byName = !glob.contains("/");
        }

        boolean matches(Path root, Path file) {
            return m.matches(byName ? file.getFileName() : root.relativize(file));
        }
    }
}
