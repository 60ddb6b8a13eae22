package io.guestflow.processors.sysprep;

import java.util.List;
import java.util.Set;

/**
 * The common shape of most operations: expand some globs in the guest and
 * remove what they match, the way the virt-sysprep operation does
 * ({@code rm -rf}, or a plain {@code rm} that ignores what it cannot remove).
 */
public abstract class RemoveFiles extends NamedOperation {

    /** How matches are removed. */
    public enum How {
        /** {@code rm -rf}: files and whole trees. */
        RM_RF,
        /** {@code rm}, ignoring directories and failures. */
        RM_QUIETLY,
        /** {@code rm}, failing the operation when a match cannot be removed. */
        RM
    }

    private final How how;
    private final List<String> globs;

    protected RemoveFiles(String name, String description, boolean enabledByDefault, How how, String... globs) {
        super(name, description, enabledByDefault);
        this.how = how;
        this.globs = List.of(globs);
    }

    public List<String> globs() {
        return globs;
    }

    /** Matches that must stay (virt-sysprep's exception lists). */
    protected Set<String> kept() {
        return Set.of();
    }

    /** Whether a matched symbolic link is left alone. */
    protected boolean keepsSymlinks() {
        return false;
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        int removedBefore = ctx.removedSoFar();
        for (String glob : globs) {
            for (String path : ctx.glob(glob)) {
                if (kept().contains(path) || (keepsSymlinks() && ctx.isSymlink(path))) {
                    continue;
                }
                switch (how) {
                    case RM_RF -> ctx.rmRf(path);
                    case RM_QUIETLY -> ctx.rmQuietly(path);
                    case RM -> ctx.rm(path);
                }
            }
        }
        if (ctx.removedSoFar() > removedBefore) {
            afterRemoval(ctx);
        }
    }

    /** Runs when something was removed (e.g. the CA store must be rebuilt). */
    protected void afterRemoval(SysprepContext ctx) throws Exception {
    }
}
