package io.guestflow.processors.sysprep;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import com.redhat.et.libguestfs.StatNS;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One guest (inspection root) as the operations see it: its inspected
 * identity, the job's options, and the only way to change files. Every
 * change goes through here, is recorded in the current operation's report,
 * and is skipped in a dry run (the paths are still reported, so a dry run
 * says exactly what a real run would do).
 */
public final class SysprepContext {
    private final GuestFS g;
    private final String root;
    private final String type;
    private final String distro;
    private final int majorVersion;
    private final String packageFormat;
    private final String packageManagement;
    private final SysprepOptions options;
    private OperationReport report;

    SysprepContext(GuestFS g, String root, SysprepOptions options) throws LibGuestFSException {
        this.g = g;
        this.root = root;
        this.type = g.inspect_get_type(root);
        this.distro = g.inspect_get_distro(root);
        this.majorVersion = g.inspect_get_major_version(root);
        this.packageFormat = g.inspect_get_package_format(root);
        this.packageManagement = g.inspect_get_package_management(root);
        this.options = options;
    }

    void recordInto(OperationReport r) {
        this.report = r;
    }

    /** How many paths the current operation has removed so far. */
    public int removedSoFar() {
        return report.getRemovedCount();
    }

    public GuestFS g() {
        return g;
    }

    public String root() {
        return root;
    }

    public String type() {
        return type;
    }

    public String distro() {
        return distro;
    }

    public int majorVersion() {
        return majorVersion;
    }

    public String packageFormat() {
        return packageFormat;
    }

    public String packageManagement() {
        return packageManagement;
    }

    public SysprepOptions options() {
        return options;
    }

    public boolean dryRun() {
        return options.dryRun();
    }

    // ---- reading (never changes anything) ----

    public List<String> glob(String pattern) throws LibGuestFSException {
        String[] found = g.glob_expand(pattern);
        Arrays.sort(found);
        return List.of(found);
    }

    public boolean isFile(String path) throws LibGuestFSException {
        return g.is_file(path, Map.of("followsymlinks", false));
    }

    public boolean isDir(String path) throws LibGuestFSException {
        return g.is_dir(path, Map.of("followsymlinks", false));
    }

    public boolean isSymlink(String path) throws LibGuestFSException {
        return g.is_symlink(path);
    }

    /** True for anything but a directory or nothing (what {@code rm} can remove). */
    public boolean isRemovable(String path) {
        try {
            StatNS st = g.lstatns(path);
            return (st.st_mode & 0170000) != 0040000;
        } catch (LibGuestFSException e) {
            return false;
        }
    }

    public boolean exists(String path) {
        try {
            g.lstatns(path);
            return true;
        } catch (LibGuestFSException e) {
            return false;
        }
    }

    public List<String> readLines(String path) throws LibGuestFSException {
        return List.of(g.read_lines(path));
    }

    public String readText(String path) throws LibGuestFSException {
        return g.cat(path);
    }

    /** Every regular file below {@code dir} (absolute paths). */
    public List<String> filesBelow(String dir) throws LibGuestFSException {
        List<String> files = new ArrayList<>();
        if (!isDir(dir)) {
            return files;
        }
        String base = dir.endsWith("/") ? dir : dir + "/";
        for (String rel : g.find(dir)) {
            String p = base + rel;
            if (isFile(p)) {
                files.add(p);
            }
        }
        return files;
    }

    // ---- changing (recorded; skipped in a dry run) ----

    /** {@code rm -rf}: removes a file or a whole tree. */
    public void rmRf(String path) throws LibGuestFSException {
        if (!exists(path)) {
            return;
        }
        report.removed(path);
        if (!dryRun()) {
            g.rm_rf(path);
        }
    }

    /** {@code rm} that ignores what it cannot remove (directories, missing paths), as virt-sysprep does. */
    public void rmQuietly(String path) throws LibGuestFSException {
        if (!isRemovable(path)) {
            return;
        }
        report.removed(path);
        if (!dryRun()) {
            g.rm(path);
        }
    }

    /** {@code rm} that fails on anything it cannot remove. */
    public void rm(String path) throws LibGuestFSException {
        report.removed(path);
        if (!dryRun()) {
            g.rm(path);
        } else if (!isRemovable(path)) {
            throw new LibGuestFSException("rm: " + path + ": not a removable file");
        }
    }

    public void truncate(String path) throws LibGuestFSException {
        report.changed(path);
        if (!dryRun()) {
            g.truncate(path);
        }
    }

    /** Replaces the content in place (keeping owner, mode and SELinux label of an existing file). */
    public void write(String path, byte[] content) throws LibGuestFSException {
        report.changed(path);
        if (!dryRun()) {
            g.write(path, content);
        }
    }

    public void write(String path, String content) throws LibGuestFSException {
        write(path, content.getBytes(StandardCharsets.UTF_8));
    }

    public void touch(String path) throws LibGuestFSException {
        report.changed(path);
        if (!dryRun()) {
            g.touch(path);
        }
    }

    public void mkdirP(String path) throws LibGuestFSException {
        if (!exists(path)) {
            report.changed(path);
            if (!dryRun()) {
                g.mkdir_p(path);
            }
        }
    }

    public void chmod(int mode, String path) throws LibGuestFSException {
        report.changed(path);
        if (!dryRun()) {
            g.chmod(mode, path);
        }
    }

    public void chown(int uid, int gid, String path) throws LibGuestFSException {
        report.changed(path);
        if (!dryRun()) {
            g.chown(uid, gid, path);
        }
    }

    public void symlink(String target, String link) throws LibGuestFSException {
        report.changed(link);
        if (!dryRun()) {
            g.ln_sf(target, link);
        }
    }

    /** A change that is not a file (LVM or filesystem UUIDs), reported by what it names. */
    public void changedDevice(String what, GuestAction action) throws LibGuestFSException {
        report.changed(what);
        if (!dryRun()) {
            action.run();
        }
    }

    /** Something worth telling that is not a path. */
    public void note(String text) {
        report.note(text);
    }

    public void warn(String text) {
        report.note("warning: " + text);
    }

    /**
     * Runs a shell command inside the guest (its own binaries, chrooted by
     * the appliance); recorded as a note.
     */
    public void runInGuest(String command) throws LibGuestFSException {
        report.note((dryRun() ? "would run in the guest: " : "ran in the guest: ") + command);
        if (!dryRun()) {
            g.sh(command);
        }
    }

    @FunctionalInterface
    public interface GuestAction {
        void run() throws LibGuestFSException;
    }
}
