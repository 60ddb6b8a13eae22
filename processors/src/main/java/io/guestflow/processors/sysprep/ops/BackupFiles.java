package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.List;
import java.util.Set;

/**
 * virt-sysprep's {@code backup-files}: editor backups ({@code *.bak},
 * {@code *~}) anywhere under /etc, /root, /srv, /tmp and /var of a Unix-like
 * guest (everywhere on others). Only regular files; symbolic links are not followed.
 */
public final class BackupFiles extends NamedOperation {
    private static final List<String> UNIX_TREES = List.of("/etc", "/root", "/srv", "/tmp", "/var");
    private static final Set<String> UNIX_LIKE = Set.of("linux", "hurd", "minix", "netbsd", "openbsd", "freebsd");
    private static final List<PathMatcher> GLOBS = List.of(
            FileSystems.getDefault().getPathMatcher("glob:*.bak"),
            FileSystems.getDefault().getPathMatcher("glob:*~"));

    public BackupFiles() {
        super("backup-files", "Remove editor backup files from the guest", true);
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        List<String> trees = UNIX_LIKE.contains(ctx.type()) ? UNIX_TREES : List.of("/");
        for (String tree : trees) {
            if (!ctx.isDir(tree)) {
                continue;
            }
            String base = tree.endsWith("/") ? tree : tree + "/";
            for (String rel : ctx.g().find(tree)) {
                Path name = Path.of(rel).getFileName();
                if (name != null && GLOBS.stream().anyMatch(m -> m.matches(name)) && ctx.isFile(base + rel)) {
                    ctx.rmQuietly(base + rel);
                }
            }
        }
    }
}
