package io.guestflow.pool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.ArrayList;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks a local image before any appliance sees it. First in Java, before
 * any {@code qemu-img} touches the file ({@code qemu-img info} opens VMDK
 * extents, {@code qemu-img check} opens qcow2 data files): its real format
 * from its header, the format and features against the {@link ImagePolicy}
 * allowlist, and every file its metadata names — backing files (the whole
 * chain), qcow2 external data files, VMDK extents — each of which must be a
 * regular file under the policy's root (never a FIFO, socket, device or
 * directory). Then {@code qemu-img info --backing-chain} with the format
 * given explicitly (qemu never probes), whose list of files must be exactly
 * what the header check vetted; the virtual size against the limit; and
 * {@code qemu-img check} for damaged or truncated metadata. Every failure is
 * a {@link GuestflowException} with a specific code whose message names the
 * file; the image is never written. What qemu-img said of an image is
 * remembered (for every probe of this process) while none of its files
 * changes; the Java walk and the policy run every time.
 */
public final class ImageProbe {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** qemu-img check's exit code for "this format has no consistency check". */
    private static final int CHECK_UNSUPPORTED = 63;
    /** The longest a qemu-img call of the probe may take before it is killed (with its children). */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);
    /** Backing chains deeper than this are refused (qemu itself stops far later). */
    public static final int MAX_CHAIN = 16;
    /** {@code json:} pseudo-protocol or {@code proto:...} before any slash: qemu would open it with a protocol driver. */
    private static final Pattern PROTOCOL = Pattern.compile("^(json:|[A-Za-z0-9+._-]+:)");
    private static final int CACHE_SIZE = 256;

    private final String qemuImg;
    private final ImagePolicy policy;
    private final Duration timeout;
    /** qemu-img's answers per image and format, kept while none of the files it opened changes. */
    private static final Map<String, QemuFacts> FACTS = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, QemuFacts> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    /** The default policy: {@link ImagePolicy#defaults()}, referenced files beside the image. */
    public ImageProbe() {
        this(ImagePolicy.defaults());
    }

    public ImageProbe(String qemuImg) {
        this(qemuImg, ImagePolicy.defaults());
    }

    public ImageProbe(ImagePolicy policy) {
        this("qemu-img", policy);
    }

    public ImageProbe(String qemuImg, ImagePolicy policy) {
        this(qemuImg, policy, DEFAULT_TIMEOUT);
    }

    /**
     * @param timeout each qemu-img call is killed (with its children) after this long, whatever it prints
     *                ({@link Subprocess}); the Java walk before it opens nothing that could hang
     */
    public ImageProbe(String qemuImg, ImagePolicy policy, Duration timeout) {
        this.qemuImg = qemuImg;
        this.policy = Objects.requireNonNull(policy);
        this.timeout = Objects.requireNonNull(timeout);
    }

    public ImagePolicy policy() {
        return policy;
    }

    /**
     * Validates a drive and returns it with its format resolved. Remote
     * drives must name their format, and their host must be allowed
     * ({@link RemoteHosts}) before anything is opened; then qemu-img opens them
     * over the network through their overlay ({@link #openRemote}), unless
     * the remote disk is held open already (by the job that checked it).
     */
    public Drive resolve(Drive drive, boolean allowBackingFiles) {
        if (!drive.isLocal()) {
            remoteInfo(drive, allowBackingFiles);
            return drive;
        }
        ImageInfo info = inspect(drive.path(), drive.format(), allowBackingFiles, false);
        return drive.withFormat(info.format());
    }

    /**
     * A drive this process created itself (an overlay over an input it probed
     * already, a new output): its own format and location are trusted, the
     * file it is backed by must pass the policy and name nothing further. The
     * backing file may be a remote disk's {@code json:} name (an overlay over
     * a remote disk, {@link RemoteImage#createOverlay}) only when this process
     * made that overlay with that name; the remote disk then passes
     * {@link #checkRemote}, the same check as a remote disk of a job.
     */
    public Drive resolveOwned(Drive drive) {
        if (!drive.isLocal()) {
            return resolve(drive, false);
        }
        ImageInfo info = inspect(drive.path(), drive.format(), false, true);
        return drive.withFormat(info.format());
    }

    /**
     * Checks a remote drive: its host against the allowed list and its
     * declared format against the allowlist (nothing opened yet), then opens
     * it over the network through its overlay ({@link #openRemote}), within
     * the probe's timeout (REMOTE_UNREACHABLE otherwise, a clear failure
     * without any launch) and within the size limit.
     */
    public ImageInfo remoteInfo(Drive drive, boolean allowBackingFiles) {
        try (RemoteImage r = openRemote(drive, allowBackingFiles)) {
            return new ImageInfo(drive.format(), r.virtualSize(), -1, null);
        }
    }

    /**
     * The remote disk behind a local overlay ({@link RemoteImage}): checked
     * ({@link #checkRemote}), then probed once over the network unless someone
     * holds it open already, its size within the limit. Close it when done;
     * while it is open, launches and operations attach and read the same
     * overlay without probing again.
     */
    public RemoteImage openRemote(Drive drive, boolean allowBackingFiles) {
        checkRemote(drive);
        RemoteImage r = RemoteImage.open(this, drive, allowBackingFiles, policy.remoteHosts().timeoutSeconds());
        if (policy.maxVirtualSize() > 0 && r.virtualSize() > policy.maxVirtualSize()) {
            r.close();
            throw new GuestflowException(ErrorCode.IMAGE_REFUSED, Drive.redact(drive.uri()) + ": virtual size "
                    + gib(r.virtualSize()) + " GiB exceeds the largest accepted, " + gib(policy.maxVirtualSize())
                    + " GiB (guestflow.pool.max-image-size-gib)");
        }
        return r;
    }

    /** The host and format checks of a remote drive, which open nothing. */
    public void checkRemote(Drive drive) {
        if (drive.format() == null) {
            throw new GuestflowException(ErrorCode.INVALID_DRIVE,
                    "remote drive " + Drive.redact(drive.uri()) + " must name its format (raw, qcow2, ...)");
        }
        policy.remoteHosts().check(drive);
        if (!drive.format().equals("raw") && !policy.allows("remote-images")) {
            // a remote qcow2 or vmdk may name /etc/shadow as backing file or extent, and qemu would open
            // that host file; its metadata cannot be read here before qemu does
            throw new GuestflowException(ErrorCode.IMAGE_REFUSED, "remote drive " + Drive.redact(drive.uri())
                    + " is declared " + drive.format() + "; only raw remote drives are accepted, since the metadata of"
                    + " a remote image can name host files and cannot be checked before qemu opens it"
                    + " (guestflow.pool.image-formats lacks remote-images)");
        }
    }

    /** What {@code qemu-img info} says of a remote drive that passes {@link #checkRemote}, read through its overlay. */
    JsonNode remoteQemuInfo(Drive drive) {
        try (RemoteImage r = openRemote(drive, false)) {
            return r.facts();
        }
    }

    String qemuImg() {
        return qemuImg;
    }

    /** A qemu-img call on a remote drive under the probe's deadline; a server that does not answer is REMOTE_UNREACHABLE. */
    Subprocess.Result runRemote(Drive drive, List<String> cmd) {
        try {
            return Subprocess.run(cmd, timeout);
        } catch (Subprocess.TimedOut e) {
            throw new GuestflowException(ErrorCode.REMOTE_UNREACHABLE, "remote drive " + Drive.redact(drive.uri())
                    + " did not answer within " + timeout.toSeconds() + " s", e);
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot run " + cmd.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestflowException(ErrorCode.POOL_CLOSED, "interrupted probing " + Drive.redact(drive.uri()), e);
        }
    }

    /** Checks a local image and tells its format and sizes. */
    public ImageInfo inspect(Path path, String declaredFormat, boolean allowBackingFiles) {
        return inspect(path, declaredFormat, allowBackingFiles, false);
    }

    private ImageInfo inspect(Path path, String declaredFormat, boolean allowBackingFiles, boolean owned) {
        checkFile(path);
        Path real = real(path);
        Walk walk = new Walk(path, real, allowBackingFiles, owned);
        walk.top(declaredFormat);
        QemuFacts facts = facts(walk, !owned);
        ImageInfo info = qemuInfo(walk, facts.chain());
        if (policy.maxVirtualSize() > 0 && info.virtualSize() > policy.maxVirtualSize()) {
            throw new GuestflowException(ErrorCode.IMAGE_REFUSED, path + ": virtual size " + gib(info.virtualSize())
                    + " GiB exceeds the largest accepted, " + gib(policy.maxVirtualSize())
                    + " GiB (guestflow.pool.max-image-size-gib)");
        }
        if (!owned && facts.checkFailure() != null) {
            throw new GuestflowException(ErrorCode.DISK_CORRUPT, path + ": " + info.format()
                    + " image is damaged or truncated (qemu-img check: " + facts.checkFailure() + ")");
        }
        return info;
    }

    /**
     * What the Java walk vetted for an image: every file qemu may open for it
     * (the image, its data file or extents, the backing files followed), and
     * the backing chain as far as policy allows.
     *
     * @param image          the image's real path
     * @param format         its format, from its header
     * @param files          real paths of every file vetted, the image first
     * @param dataFile       the image's own qcow2 external data file (vetted), or null
     * @param chain          the backing files followed, nearest first, with the format each is opened as
     * @param backingFile    the name the image gives its backing file, or null when it has none
     * @param stoppedBecause why the chain was not followed (further), or null when it was followed to its end
     */
    public record Vetted(Path image, String format, Set<Path> files, Path dataFile, List<Backing> chain,
                         String backingFile, String stoppedBecause) {
        /** Whether qemu may open the whole chain: it has none, or it was followed to its end. */
        public boolean chainComplete() {
            return backingFile == null || stoppedBecause == null;
        }
    }

    /** A backing file followed: its real path and the format its parent records for it. */
    public record Backing(Path file, String format) {
    }

    /**
     * The Java half of {@link #inspect} alone, before any qemu-img opens a
     * file: the image's header, its format and features against the policy,
     * its data file or extents (refused as {@code inspect} refuses them), and
     * its backing chain as far as policy allows: a backing file that policy
     * refuses (backing files off, outside the root, not a regular file, ...)
     * is not an error here, the chain stops there and says why. For reports
     * that open images only with qemu-img and tell what they find (the info
     * job), never for images an appliance opens.
     *
     * @param followBacking whether backing files may be opened at all
     */
    public Vetted vet(Path path, String declaredFormat, boolean followBacking) {
        checkFile(path);
        Walk walk = new Walk(path, real(path), followBacking, false);
        walk.lenient = true;
        walk.top(declaredFormat);
        return new Vetted(walk.real, walk.format, Set.copyOf(walk.vetted), walk.topDataFile, List.copyOf(walk.chain),
                walk.topBacking, walk.stoppedBecause);
    }

    /**
     * qemu-img's {@code info} of one file of a vetted image must name no file
     * (data file, extent) that the walk did not vet.
     */
    public static void confirmOpened(Vetted v, Path file, JsonNode info) {
        JsonNode data = info.path("format-specific").path("data");
        List<String> named = new ArrayList<>();
        if (data.hasNonNull("data-file")) {
            named.add(data.get("data-file").asText());
        }
        data.path("extents").forEach(e -> named.add(e.path("filename").asText()));
        for (String name : named) {
            Path r = resolvedOrNull(file.getParent(), name);
            if (r == null || !v.files().contains(r)) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, file + ": qemu-img reports that it opens '" + name
                        + "', which the header check did not vet; refused");
            }
        }
    }

    /**
     * What qemu-img says of the walked image: its {@code info --backing-chain}
     * and, when {@code check}, why {@code check} finds it damaged (null: it does
     * not). Asked once while the files stay the same.
     */
    private record QemuFacts(Map<Path, List<Object>> stamps, JsonNode chain, boolean checked, String checkFailure) {
    }

    private QemuFacts facts(Walk walk, boolean check) {
        String key = walk.real + "\0" + walk.format;
        Map<Path, List<Object>> now = stamps(walk.vetted);
        QemuFacts known;
        synchronized (FACTS) {
            known = FACTS.get(key);
        }
        boolean same = known != null && known.stamps().equals(now);
        if (same && (known.checked() || !check)) {
            return known;
        }
        JsonNode chain = same ? known.chain() : qemuChain(walk);
        String failure = check ? check(walk.real, walk.format) : null;
        QemuFacts facts = new QemuFacts(now, chain, check, failure);
        synchronized (FACTS) {
            FACTS.put(key, facts);
        }
        return facts;
    }

    private static Map<Path, List<Object>> stamps(Set<Path> files) {
        Map<Path, List<Object>> out = new LinkedHashMap<>();
        for (Path p : files) {
            try {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                Object ctime = Files.getAttribute(p, "unix:ctime", LinkOption.NOFOLLOW_LINKS);
                out.put(p, List.of(String.valueOf(a.fileKey()), a.size(), a.lastModifiedTime(), ctime));
            } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
                out.put(p, List.of(FileTime.fromMillis(System.nanoTime()))); // never equal: probe again
            }
        }
        return out;
    }

    /** The Java half: the top image and everything its metadata names, judged before qemu-img runs. */
    private final class Walk {
        final Path shown;
        final Path real;
        final boolean allowBackingFiles;
        final boolean owned;
        final Path root;
        String format;
        /** Real paths of every file qemu may open for this image, the image first. */
        final Set<Path> vetted = new LinkedHashSet<>();
        /** A refused backing file stops the chain (with a reason) instead of refusing the image ({@link #vet}). */
        boolean lenient;
        /** The backing files followed, nearest first. */
        final List<Backing> chain = new ArrayList<>();
        String topBacking;
        /** Our own overlay's backing file when it is a remote disk (checked by {@link #checkRemote}), else null. */
        String remoteBacking;
        Path topDataFile;
        String stoppedBecause;

        Walk(Path shown, Path real, boolean allowBackingFiles, boolean owned) {
            this.shown = shown;
            this.real = real;
            this.allowBackingFiles = allowBackingFiles;
            this.owned = owned;
            Path r = policy.root() != null ? policy.root() : real.getParent();
            Path rr;
            try {
                rr = r.toRealPath();
            } catch (IOException e) {
                rr = r;
            }
            this.root = rr;
        }

        void top(String declaredFormat) {
            ImageHeaders.Header h = header(shown, real);
            if (declaredFormat != null && !declaredFormat.equals(h.format())) {
                ImageHeaders.Header fixed = declaredFormat.equals("vpc") && h.format().equals("raw") ? fixedVpc(real) : null;
                if (fixed == null) {
                    // raw accepts any bytes, so "raw" over a qcow2 would hand the guest the qcow2 metadata,
                    // and any other format would make qemu parse the file as something it is not
                    throw new GuestflowException(ErrorCode.FORMAT_MISMATCH, shown + ": declared format " + declaredFormat
                            + " does not match the file (content is " + describe(h) + ")");
                }
                h = fixed;
            }
            format = h.format();
            damaged(shown, h);
            if (owned) {
                if (!format.equals("qcow2") && !format.equals("raw") && !policy.allows(format)) {
                    throw new GuestflowException(ErrorCode.IMAGE_REFUSED, shown + ": a " + format + " image made here");
                }
            } else {
                allowed(shown, h);
            }
            vetted.add(real);
            refs(shown, real, h, 0);
        }

        private void refs(Path owner, Path ownerReal, ImageHeaders.Header h, int depth) {
            for (ImageHeaders.Ref ref : h.refs()) {
                switch (ref.kind()) {
                    case BACKING -> backing(owner, ownerReal, h, ref, depth);
                    case DATA_FILE -> {
                        if (!policy.allows("qcow2-data-file")) {
                            throw new GuestflowException(ErrorCode.IMAGE_REFUSED, owner + " has an external data file ("
                                    + (ref.name().isEmpty() ? "none named" : ref.name()) + "); qcow2 images with a data file"
                                    + " make qemu open another host file and are not accepted (guestflow.pool.image-formats"
                                    + " lacks qcow2-data-file)");
                        }
                        Path data = target(owner, ownerReal, ref, depth == 0 && owned);
                        vetted.add(data);
                        if (depth == 0) {
                            topDataFile = data;
                        }
                    }
                    case EXTENT -> vetted.add(target(owner, ownerReal, ref, depth == 0 && owned));
                }
            }
        }

        private void backing(Path owner, Path ownerReal, ImageHeaders.Header h, ImageHeaders.Ref ref, int depth) {
            if (depth == 0) {
                topBacking = ref.name();
            }
            if (!lenient) {
                follow(owner, ownerReal, h, ref, depth);
                return;
            }
            if (!allowBackingFiles) {
                stoppedBecause = "backing files are not opened (guestflow.pool.allow-backing-files=false)";
                return;
            }
            // what policy refuses below here stops the chain, with the reason; nothing of it stays vetted
            Set<Path> before = new LinkedHashSet<>(vetted);
            int links = chain.size();
            try {
                follow(owner, ownerReal, h, ref, depth);
            } catch (GuestflowException e) {
                vetted.retainAll(before);
                chain.subList(links, chain.size()).clear();
                stoppedBecause = "backing file " + Secrets.redact(ref.name()) + " of " + owner + " not opened: "
                        + e.getMessage();
            }
        }

        private void follow(Path owner, Path ownerReal, ImageHeaders.Header h, ImageHeaders.Ref ref, int depth) {
            boolean ownOverlay = owned && depth == 0;
            if (!allowBackingFiles && !ownOverlay) {
                throw new GuestflowException(ErrorCode.BACKING_FILE_REFUSED, owner + " has a backing file (" + ref.name()
                        + "); refused because it would make the appliance open other host files"
                        + " (flatten it with qemu-img convert, or enable backing files in the configuration)");
            }
            if (h.format().equals("vmdk")) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, owner + " is a VMDK with a parent disk ("
                        + ref.name() + "); only single-file VMDKs are accepted");
            }
            if (ref.format() == null) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, owner + " names its backing file " + ref.name()
                        + " without recording its format; qemu would guess it (recreate the overlay with -F FORMAT)");
            }
            if (ownOverlay && remoteBacking(ownerReal, ref)) {
                return;
            }
            if (depth + 1 >= MAX_CHAIN) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, shown + ": backing chain deeper than " + MAX_CHAIN
                        + " images (at " + owner + ")");
            }
            Path target = target(owner, ownerReal, ref, ownOverlay);
            if (vetted.contains(target)) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, shown + ": backing chain loops back to " + target
                        + " (named by " + owner + ")");
            }
            ImageHeaders.Header bh = header(target, target);
            if (ref.format().equals("raw")) {
                bh = new ImageHeaders.Header("raw", null, List.of(), null); // qemu reads it as bytes
            } else if (!ref.format().equals(bh.format())) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, owner + " names its backing file " + target + " as "
                        + ref.format() + ", but its content is " + describe(bh));
            }
            damaged(target, bh);
            allowed(target, bh);
            vetted.add(target);
            chain.add(new Backing(target, ref.format()));
            if (ownOverlay && !bh.refs().isEmpty()) {
                throw new GuestflowException(ErrorCode.BACKING_FILE_REFUSED, target + " names other files ("
                        + bh.refs().get(0).name() + "); refused under a working overlay");
            }
            refs(target, target, bh, depth + 1);
        }

        /**
         * Whether our own overlay's backing file is a remote disk: its
         * {@code json:} name, only when this process made that overlay with
         * that name ({@link RemoteImage#madeHere}). The remote disk must pass
         * the one remote check ({@link #checkRemote}: allowed host, format);
         * qemu opens it over the network, and nothing below it is followed
         * here. False for any other name, which the file rules judge (they
         * refuse every json: or protocol name).
         */
        private boolean remoteBacking(Path ownerReal, ImageHeaders.Ref ref) {
            Drive remote = ref.name().startsWith("json:") ? RemoteImage.madeHere(ownerReal, ref.name()) : null;
            if (remote == null) {
                return false;
            }
            checkRemote(remote);
            remoteBacking = Drive.redact(remote.uri());
            return true;
        }

        /** Where a name in {@code owner}'s metadata leads: a regular file under the root, or a refusal naming it. */
        private Path target(Path owner, Path ownerReal, ImageHeaders.Ref ref, boolean skipRoot) {
            String name = ref.name();
            String what = owner + " names " + ref.kind().label + " '" + name + "'";
            if (name.isEmpty()) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, owner + " needs an " + ref.kind().label + " but names none");
            }
            if (!name.startsWith("/") && PROTOCOL.matcher(name).lookingAt()) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, what + ", which is not a plain file path"
                        + " (qemu would open it with a protocol driver); refused");
            }
            Path p = ownerReal.getParent().resolve(name);
            Path r;
            try {
                r = p.toRealPath();
            } catch (NoSuchFileException e) {
                if (!skipRoot && !p.normalize().startsWith(root)) {
                    throw outside(what, p.normalize());
                }
                throw new GuestflowException(ErrorCode.DISK_NOT_FOUND, what + ", which does not exist");
            } catch (IOException e) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, what + ", which cannot be resolved: " + e.getMessage());
            }
            if (!skipRoot && !r.startsWith(root)) {
                throw outside(what + (r.equals(p.normalize()) ? "" : " (resolving to " + r + ")"), r);
            }
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(r, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, what + ", which cannot be read: " + e.getMessage());
            }
            if (!a.isRegularFile()) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, what + (r.toString().equals(name) ? "" : " (" + r + ")")
                        + ", which is " + kindOf(r, a) + ", not a regular file; refused");
            }
            if (!Files.isReadable(r)) {
                throw new GuestflowException(ErrorCode.DISK_UNREADABLE, what + ": permission denied");
            }
            return r;
        }

        private GuestflowException outside(String what, Path p) {
            return new GuestflowException(ErrorCode.IMAGE_REFUSED, what + ", which is outside the image root " + root
                    + "; an image may make qemu open only regular files under it");
        }

        /** The format and its variant must be in the allowlist. */
        private void allowed(Path file, ImageHeaders.Header h) {
            String f = h.format();
            if (!ImagePolicy.TOKENS.contains(f) || !policy.allows(f)) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, file + ": " + describe(h) + " images are not accepted"
                        + " (accepted: " + String.join(", ", policy.formats()) + "; guestflow.pool.image-formats)");
            }
            String v = h.variant();
            if (f.equals("vmdk") && "descriptor".equals(v) && !policy.allows("vmdk-descriptor")) {
                List<String> names = h.refs().stream().map(ImageHeaders.Ref::name).toList();
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, file + " is a VMDK descriptor whose data is in other files"
                        + (names.isEmpty() ? "" : " (" + String.join(", ", names) + ")") + "; only single-file VMDKs"
                        + " (monolithicSparse, streamOptimized) are accepted (guestflow.pool.image-formats lacks vmdk-descriptor)");
            }
            if (f.equals("vmdk") && "cowd".equals(v)) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, file + " is a VMDK3 (COWD) image; only VMDK4"
                        + " single-file images (monolithicSparse, streamOptimized) are accepted");
            }
            if (f.equals("vpc") && !"fixed".equals(v) && !"dynamic".equals(v)) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, file + " is a " + v + " VHD; a differencing VHD names"
                        + " a parent disk, only fixed and dynamic ones are accepted");
            }
            if (f.equals("vdi") && !"dynamic".equals(v) && !"static".equals(v)) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, file + " is a " + v + " VDI; only dynamic and static"
                        + " ones are accepted");
            }
        }
    }

    private static void damaged(Path file, ImageHeaders.Header h) {
        if (h.damage() != null) {
            throw new GuestflowException(ErrorCode.DISK_CORRUPT, file + ": " + h.format()
                    + " image is damaged or truncated (" + h.damage() + ")");
        }
    }

    private static String describe(ImageHeaders.Header h) {
        return h.variant() == null ? h.format() : h.format() + " (" + h.variant() + ")";
    }

    /** What a non-regular file is, from its mode bits. */
    static String kindOf(Path p, BasicFileAttributes a) {
        if (a.isDirectory()) {
            return "a directory";
        }
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            switch (mode & 0170000) {
                case 0010000: return "a FIFO";
                case 0020000: return "a character device";
                case 0060000: return "a block device";
                case 0140000: return "a socket";
                default: break;
            }
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            // fall through
        }
        return "a special file";
    }

    private static ImageHeaders.Header header(Path shown, Path real) {
        try {
            return ImageHeaders.read(real);
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.DISK_UNREADABLE, shown + ": cannot read its header: " + e.getMessage(), e);
        }
    }

    private static ImageHeaders.Header fixedVpc(Path real) {
        try {
            ImageHeaders.Header h = ImageHeaders.readFixedVpc(real);
            return h != null && "fixed".equals(h.variant()) ? h : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static Path real(Path path) {
        try {
            return path.toRealPath();
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.DISK_UNREADABLE, path + ": cannot be resolved: " + e.getMessage(), e);
        }
    }

    static void checkFile(Path path) {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS) && !Files.exists(path)) {
            throw new GuestflowException(ErrorCode.DISK_NOT_FOUND, path + ": no such file");
        }
        if (!Files.exists(path)) {
            throw new GuestflowException(ErrorCode.DISK_NOT_FOUND, path + ": dangling symbolic link");
        }
        if (!Files.isRegularFile(path)) {
            throw new GuestflowException(ErrorCode.DISK_UNREADABLE,
                    path + ": not a regular file" + (Files.isDirectory(path) ? " (a directory)" : ""));
        }
        if (!Files.isReadable(path)) {
            throw new GuestflowException(ErrorCode.DISK_UNREADABLE, path + ": permission denied");
        }
        try (InputStream in = Files.newInputStream(path)) {
            if (Files.size(path) == 0) {
                throw new GuestflowException(ErrorCode.DISK_EMPTY, path + ": zero-length file is not a disk image");
            }
            in.read();
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.DISK_UNREADABLE, path + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * The qemu half, once every file is vetted: {@code qemu-img info --backing-chain}
     * with the format given, and every file it lists must be one the walk vetted.
     */
    private JsonNode qemuChain(Walk walk) {
        // an overlay over a remote disk: its own file only (qemu-img info opens no backing file without --backing-chain)
        Subprocess.Result r = run(walk.remoteBacking != null
                ? List.of(qemuImg, "info", "-U", "--output=json", "-f", walk.format, walk.real.toString())
                : List.of(qemuImg, "info", "-U", "--output=json", "--backing-chain", "-f", walk.format,
                        walk.real.toString()));
        if (r.exitCode() != 0) {
            throw new GuestflowException(ErrorCode.DISK_CORRUPT, walk.shown + ": qemu-img cannot open it: " + firstLine(r.stderr()));
        }
        JsonNode chain;
        try {
            chain = JSON.readTree(r.stdout());
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.DISK_CORRUPT, walk.shown + ": unreadable qemu-img output: " + e.getMessage(), e);
        }
        return chain.isArray() ? chain : JSON.createArrayNode().add(chain);
    }

    private ImageInfo qemuInfo(Walk walk, JsonNode chain) {
        for (int i = 0; i < chain.size(); i++) {
            JsonNode n = chain.get(i);
            Path file = opened(walk, n.path("filename").asText(), walk.real.getParent());
            String fmt = n.path("format").asText();
            if (i > 0 && !policy.allows(fmt)) {
                throw new GuestflowException(ErrorCode.IMAGE_REFUSED, file + ": " + fmt + " images are not accepted (accepted: "
                        + String.join(", ", policy.formats()) + ")");
            }
            JsonNode data = n.path("format-specific").path("data");
            if (data.hasNonNull("data-file")) {
                opened(walk, data.get("data-file").asText(), file.getParent());
            }
            for (JsonNode e : data.path("extents")) {
                opened(walk, e.path("filename").asText(), file.getParent());
            }
        }
        JsonNode top = chain.get(0);
        String backing = top.hasNonNull("backing-filename") ? top.get("backing-filename").asText() : null;
        return new ImageInfo(top.path("format").asText(), top.path("virtual-size").asLong(),
                top.path("actual-size").asLong(), backing);
    }

    /** A file qemu-img says it opens must be one the header walk vetted. */
    private static Path opened(Walk walk, String name, Path dir) {
        Path r = resolvedOrNull(dir, name);
        if (r == null || !walk.vetted.contains(r)) {
            throw new GuestflowException(ErrorCode.IMAGE_REFUSED, walk.shown + ": qemu-img reports that it opens '" + name
                    + "', which the header check did not vet; refused");
        }
        return r;
    }

    /** The real path a plain file name in an image's metadata leads to, or null (a protocol, or nothing there). */
    private static Path resolvedOrNull(Path dir, String name) {
        if (name.isEmpty() || (!name.startsWith("/") && PROTOCOL.matcher(name).lookingAt())) {
            return null;
        }
        try {
            return dir.resolve(name).toRealPath();
        } catch (IOException | java.nio.file.InvalidPathException e) {
            return null;
        }
    }

    /**
     * A metadata check catches truncated and damaged images that qemu-img info
     * still opens; returns why it failed, or null.
     */
    private String check(Path path, String format) {
        if (format.equals("raw")) {
            return null;
        }
        Subprocess.Result r = run(List.of(qemuImg, "check", "-U", "-f", format, path.toString()));
        // 0 clean, 3 leaked clusters only (harmless for reading); 63 no check for this format
        if (r.exitCode() == 0 || r.exitCode() == 3 || r.exitCode() == CHECK_UNSUPPORTED) {
            return null;
        }
        return r.firstLine();
    }

    private static long gib(long bytes) {
        return bytes >> 30;
    }

    private static String firstLine(String s) {
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    private Subprocess.Result run(List<String> cmd) {
        try {
            return Subprocess.run(cmd, timeout);
        } catch (Subprocess.TimedOut e) {
            // an image whose data file or extent never answers (a FIFO, a hung mount) hangs qemu-img itself
            throw new GuestflowException(ErrorCode.DISK_UNREADABLE, cmd.get(cmd.size() - 1) + ": " + e.getMessage()
                    + " (an image or a file it names that does not answer)", e);
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.LAUNCH_FAILED, "cannot run " + cmd.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GuestflowException(ErrorCode.POOL_CLOSED, "interrupted running " + cmd.get(0), e);
        }
    }
}
