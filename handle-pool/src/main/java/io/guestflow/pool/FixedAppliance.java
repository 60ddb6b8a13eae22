package io.guestflow.pool;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import com.redhat.et.libguestfs.Version;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fixed libguestfs appliance (kernel, initrd, root and {@code README.fixed}
 * in one folder, what {@code libguestfs-make-fixed-appliance} makes), built
 * once per machine from libguestfs's own supermin recipe ({@code supermin.d}
 * under libguestfs's default path) and used through the handle's path: a
 * launch then boots it as it is, without supermin's check of the host's
 * package files that a supermin appliance pays before every launch.
 *
 * <p>Cached under {@code <cache root>/fixed-appliance/<libguestfs version>-r<recipe>-<kind>},
 * built under a file lock into a temporary folder that is renamed into place
 * ({@link CachedBuild}). A new libguestfs version makes a new folder; changed
 * host packages (a security update of lvm2, say) do not: delete the folder,
 * or bump {@link #RECIPE}, to rebuild.
 *
 * <p>{@link ApplianceKind#FIXED} keeps only the Augeas lenses inspection loads.
 * libguestfs's daemon opens an Augeas handle per guest root to parse
 * {@code /etc/fstab} with {@code /etc/mdadm.conf} or {@code /etc/mdadm/mdadm.conf}
 * (Fstab, Mdadm_conf lenses) and, for guests without {@code /etc/hostname},
 * {@code /etc/sysconfig/network} (Shellvars); each handle autoloads every module
 * of the lens directory first (3 s under TCG). Our own operations open no
 * Augeas handle. The lenses those three use are kept, found by following the
 * modules each one names; every other lens file is left out of the appliance.
 */
public final class FixedAppliance {
    private static final Logger LOG = LoggerFactory.getLogger(FixedAppliance.class);

    /** Bump when the way the appliance is built changes: a new folder is built. */
    static final int RECIPE = 1;
    /** The lens modules whose files libguestfs's inspection parses; their imports are added. */
    static final List<String> INSPECTION_LENSES = List.of("fstab", "mdadm_conf", "shellvars");
    /** Where the host's (and so the appliance's) Augeas lenses are. */
    static final Path LENS_DIR = Path.of("/usr/share/augeas/lenses");
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(10);
    private static final Map<ApplianceKind, Path> KNOWN = new ConcurrentHashMap<>();

    private FixedAppliance() {
    }

    /** The folder where {@code kind}'s appliance is cached under {@code cacheRoot}. */
    public static Path folder(Path cacheRoot, ApplianceKind kind, String libguestfsVersion) {
        return cacheRoot.resolve("fixed-appliance").resolve(libguestfsVersion + "-r" + RECIPE + "-" + label(kind));
    }

    /** Where fixed appliances are cached: the pool's cache dir, else {@code ~/.cache/guestflow}. */
    public static Path cacheRoot(PoolConfig config) {
        return config.cacheDir() != null ? config.cacheDir()
                : Path.of(System.getProperty("user.home"), ".cache", "guestflow");
    }

    /**
     * The folder of {@code config}'s fixed appliance, built first when it is
     * missing (10-20 s; other processes wait on the lock and find it done).
     */
    public static Path ensure(PoolConfig config) {
        ApplianceKind kind = config.appliance();
        if (!kind.fixed()) {
            throw new IllegalArgumentException(kind + " is not a fixed appliance");
        }
        Path known = KNOWN.get(kind);
        if (known != null && complete(known)) {
            return known;
        }
        Path supermind;
        String version;
        try {
            GuestFS g = new GuestFS();
            try {
                Version v = g.version();
                version = v.major + "." + v.minor + "." + v.release;
                supermind = Path.of(g.get_path().split(":")[0], "supermin.d");
            } finally {
                g.close();
            }
        } catch (LibGuestFSException e) {
            throw new GuestflowException(ErrorCode.LAUNCH_FAILED, "cannot ask libguestfs for its version and path: "
                    + e.getMessage(), e);
        }
        Path dir = folder(cacheRoot(config), kind, version);
        try {
            CachedBuild.ensure(dir, FixedAppliance::complete, work -> build(work, supermind, kind));
        } catch (UncheckedIOException | IllegalStateException e) {
            throw new GuestflowException(ErrorCode.LAUNCH_FAILED, "cannot build the fixed appliance in " + dir + ": "
                    + e.getMessage(), e);
        }
        KNOWN.put(kind, dir);
        return dir;
    }

    /** Whether {@code dir} holds what libguestfs looks for in a fixed appliance. */
    static boolean complete(Path dir) {
        return Stream.of("README.fixed", "kernel", "initrd", "root").allMatch(f -> Files.isRegularFile(dir.resolve(f)));
    }

    private static void build(Path work, Path supermind, ApplianceKind kind) throws IOException {
        if (!Files.isDirectory(supermind)) {
            throw new IOException("libguestfs's appliance recipe " + supermind + " is missing");
        }
        long start = System.nanoTime();
        Path recipe = Files.createTempDirectory(work.getParent(), "supermin.d-");
        try {
            try (Stream<Path> files = Files.list(supermind)) {
                for (Path f : files.toList()) {
                    Files.copy(f, recipe.resolve(f.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
            if (kind == ApplianceKind.FIXED) {
                List<String> excluded = lensExclusions(LENS_DIR);
                Files.write(recipe.resolve("excludefiles"), excluded, StandardOpenOption.APPEND);
            }
            Path out = work.resolve("out");
            Subprocess.Result r = Subprocess.run(List.of("supermin", "--build", "--format", "ext2", "--copy-kernel",
                    "-o", out.toString(), recipe.toString()), BUILD_TIMEOUT);
            if (r.exitCode() != 0) {
                throw new IOException("supermin --build exited with " + r.exitCode() + ": " + tail(r.stderr()));
            }
            for (String f : List.of("kernel", "initrd", "root")) {
                Files.move(out.resolve(f), work.resolve(f));
            }
            FileTrees.delete(out);
            Files.writeString(work.resolve("README.fixed"), "A fixed libguestfs appliance built by guestflow from "
                    + supermind + " (" + label(kind) + ", recipe " + RECIPE + ").\n");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while building the fixed appliance", e);
        } catch (Subprocess.TimedOut e) {
            throw new IOException(e.getMessage(), e);
        } finally {
            FileTrees.delete(recipe);
        }
        LOG.info("built the {} appliance in {} in {} s", label(kind), work.getParent(),
                (System.nanoTime() - start) / 1_000_000_000);
    }

    private static String label(ApplianceKind kind) {
        return io.guestflow.settings.Setting.text(kind);
    }

    private static String tail(String s) {
        String t = s.strip();
        return t.length() > 2000 ? "..." + t.substring(t.length() - 2000) : t;
    }

    /**
     * supermin exclusion lines ({@code -/path}) for every lens file under
     * {@code lensDir} (and its {@code dist} folder, and the lens tests) that
     * {@link #INSPECTION_LENSES} do not need.
     */
    static List<String> lensExclusions(Path lensDir) throws IOException {
        Map<String, Path> modules = new HashMap<>();
        for (Path d : List.of(lensDir, lensDir.resolve("dist"))) {
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (Stream<Path> files = Files.list(d)) {
                files.filter(f -> f.getFileName().toString().endsWith(".aug"))
                        .forEach(f -> modules.putIfAbsent(module(f), f));
            }
        }
        Set<String> keep = neededLenses(modules);
        if (!keep.containsAll(INSPECTION_LENSES)) {
            throw new IOException("the Augeas lenses " + INSPECTION_LENSES + " are not all in " + lensDir);
        }
        List<String> lines = new ArrayList<>();
        for (Map.Entry<String, Path> m : new java.util.TreeMap<>(modules).entrySet()) {
            if (!keep.contains(m.getKey())) {
                lines.add("-" + m.getValue());
            }
        }
        lines.add("-" + lensDir.resolve("dist").resolve("tests") + "/*");
        return lines;
    }

    /** The inspection lenses and every module they name, transitively. */
    static Set<String> neededLenses(Map<String, Path> modules) throws IOException {
        Set<String> keep = new TreeSet<>();
        Deque<String> todo = new ArrayDeque<>(INSPECTION_LENSES);
        while (!todo.isEmpty()) {
            String m = todo.pop();
            Path file = modules.get(m);
            if (file == null || !keep.add(m)) {
                continue;
            }
            todo.addAll(references(Files.readString(file)));
        }
        return keep;
    }

    private static final Pattern COMMENT = Pattern.compile("\\(\\*.*?\\*\\)", Pattern.DOTALL);
    private static final Pattern QUALIFIED = Pattern.compile("\\b([A-Z][A-Za-z0-9_]*)\\.[a-z_]");

    /** The modules a lens source names ({@code Util.eol} names util), comments left out. */
    static Set<String> references(String source) {
        Set<String> names = new TreeSet<>();
        Matcher m = QUALIFIED.matcher(COMMENT.matcher(source).replaceAll(" "));
        while (m.find()) {
            names.add(m.group(1).toLowerCase(Locale.ROOT));
        }
        return names;
    }

    private static String module(Path f) {
        String n = f.getFileName().toString();
        return n.substring(0, n.length() - ".aug".length()).toLowerCase(Locale.ROOT);
    }
}
