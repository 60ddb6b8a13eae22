package io.guestflow.processors.resize;

import io.guestflow.processors.resize.DiskLayout.Content;
import io.guestflow.processors.resize.DiskLayout.Kind;
import io.guestflow.processors.resize.DiskLayout.Part;
import io.guestflow.processors.resize.ResizePlan.ExpandMethod;
import io.guestflow.processors.resize.ResizePlan.Operation;
import io.guestflow.processors.resize.ResizePlan.Target;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Computes the output partition table the way virt-resize does, from the
 * source layout, the output size and the options, before anything is
 * written. Every impossible request ends in an {@link ImpossiblePlanException}.
 *
 * <p>The rules that make the result match virt-resize sector for sector:
 * the first partition keeps its start unless it is aligned ({@code alignFirst});
 * a copied partition keeps its size and the next one starts at the following
 * alignment boundary; a resized partition ends just before an alignment
 * boundary; the surplus is the output size minus the partitions and a
 * worst-case overhead (boot loader area, GPT, one alignment per partition);
 * {@code expand} takes all of it, and a surplus left over of 10 MiB or more
 * becomes an extra partition ending 64 sectors before the end of the disk.
 */
public final class ResizePlanner {
    /** Bytes virt-resize reserves for a boot loader before the first partition. */
    public static final int MAX_BOOTLOADER = 4096 * 512;
    static final long MIN_EXTRA_PARTITION = 10L * 1024 * 1024;
    private static final long GPT_SECTORS = 64;

    /** A plan that cannot be carried out; the message says why. */
    public static final class ImpossiblePlanException extends RuntimeException {
        public ImpossiblePlanException(String message) {
            super(message);
        }
    }

    private final DiskLayout disk;
    private final ResizeOptions options;
    private final long outputSize;
    /** Filesystem types whose growing tools the appliance has (besides ext2/3/4). */
    private final Set<String> growableFs;

    /** Mutable per-partition state while the options are applied. */
    private static final class Slot {
        final Part part;
        Operation op = Operation.COPY;
        boolean deleted;
        long newSize;

        Slot(Part part) {
            this.part = part;
        }
    }

    private final Map<String, Slot> slots = new LinkedHashMap<>();

    public ResizePlanner(DiskLayout disk, ResizeOptions options, long outputSize, Set<String> growableFs) {
        this.disk = disk;
        this.options = options;
        this.outputSize = outputSize;
        this.growableFs = growableFs;
        disk.partitions().forEach(p -> slots.put(p.device(), new Slot(p)));
    }

    public ResizePlan plan() {
        if (disk.partitions().isEmpty()) {
            throw new ImpossiblePlanException("the source disk has no partitions");
        }
        if (outputSize < MAX_BOOTLOADER) {
            throw new ImpossiblePlanException("the output size " + outputSize + " bytes is too small to be a disk image");
        }
        checkContentFits();
        for (String dev : options.ignores()) {
            find("ignore", dev).op = Operation.IGNORE;
        }
        for (String dev : options.deletes()) {
            find("delete", dev).deleted = true;
        }
        for (String r : options.resizes()) {
            int eq = r.indexOf('=');
            Slot s = find("resize", r.substring(0, eq));
            long newSize;
            try {
                newSize = Sizes.resize(s.part.size(), r.substring(eq + 1));
            } catch (IllegalArgumentException e) {
                throw new ImpossiblePlanException("option 'resize': " + e.getMessage());
            }
            if (newSize <= 0) {
                throw new ImpossiblePlanException(s.part.device() + ": new partition size is zero or negative");
            }
            markForResize("resize", s, newSize);
        }
        if (options.expand() != null || options.shrink() != null) {
            long surplus = surplus();
            if (options.expand() != null) {
                if (surplus < 0) {
                    throw new ImpossiblePlanException("there is no surplus space to expand into: the output must be larger by at least "
                            + Sizes.human(-surplus) + " (" + (-surplus) + " bytes)");
                }
                Slot s = find("expand", options.expand());
                markForResize("expand", s, s.part.size() + surplus);
            } else {
                if (surplus > 0) {
                    throw new ImpossiblePlanException("'shrink' needs a deficit, but the output has a surplus of " + Sizes.human(surplus));
                }
                Slot s = find("shrink", options.shrink());
                markForResize("shrink", s, s.part.size() + surplus);
            }
        }
        long surplus = surplus();
        if (surplus < 0) {
            throw new ImpossiblePlanException("the output is too small: there is a deficit of " + (-surplus) + " bytes ("
                    + Sizes.human(-surplus) + "); make the output larger by at least this, or shrink/delete partitions");
        }
        List<ResizePlan.LvExpansion> lvs = lvExpansions();
        checkGrowable(lvs);
        boolean alignFirst = alignFirst();
        List<Target> targets = targets(alignFirst, surplus);
        List<String> deleted = slots.values().stream().filter(s -> s.deleted).map(s -> s.part.device()).toList();
        return new ResizePlan(disk.partitionTable(), disk.sectorSize(), disk.size(), outputSize, options.alignment(),
                alignFirst, disk.partitions(), targets, deleted, lvs, surplus);
    }

    /** A partition whose content claims to be larger than it is means something is wrong: stop. */
    private void checkContentFits() {
        for (Part p : disk.partitions()) {
            Kind k = p.content().kind();
            if ((k == Kind.FILESYSTEM || k == Kind.PHYSICAL_VOLUME) && p.size() < p.content().size()) {
                throw new ImpossiblePlanException(p.device() + ": partition size " + p.size() + " < " + p.content().describe()
                        + " size " + p.content().size());
            }
        }
        long endOfPrevious = 0;
        for (Part p : disk.partitions()) {
            if (endOfPrevious > p.start()) {
                throw new ImpossiblePlanException(p.device() + ": this partition overlaps the previous one");
            }
            endOfPrevious = p.end();
        }
    }

    /** /dev/sda2, sda2, /dev/vda2 all name the second partition of the (only) source disk. */
    static String canonical(String name) {
        String n = name.startsWith("/dev/") ? name : "/dev/" + name;
        return n.replaceFirst("^/dev/(?:xvd|vd|hd)([a-z]+)", "/dev/sd$1");
    }

    private Slot find(String option, String name) {
        Slot s = slots.get(canonical(name));
        if (s == null) {
            throw new ImpossiblePlanException(canonical(name) + ": partition not found in the source disk (option '" + option
                    + "'; it has " + String.join(", ", slots.keySet()) + ")");
        }
        if (s.op == Operation.IGNORE) {
            throw new ImpossiblePlanException(s.part.device() + ": partition already ignored, it cannot be used in option '" + option + "'");
        }
        if (s.deleted) {
            throw new ImpossiblePlanException(s.part.device() + ": partition already deleted, it cannot be used in option '" + option + "'");
        }
        return s;
    }

    private void markForResize(String option, Slot s, long newSize) {
        Part p = s.part;
        if (s.op == Operation.RESIZE) {
            throw new ImpossiblePlanException(p.device() + ": this partition has already been marked for resizing (option '" + option + "')");
        }
        if (newSize == p.size()) {
            return;
        }
        if (newSize < p.size()) {
            Content c = p.content();
            switch (c.kind()) {
                case UNKNOWN -> throw new ImpossiblePlanException(p.device() + ": has unknown content which might be damaged by shrinking it (option '"
                        + option + "')");
                case EXTENDED -> throw new ImpossiblePlanException(p.device() + ": is an extended partition whose logical partitions might be damaged by shrinking it (option '"
                        + option + "')");
                case FILESYSTEM, PHYSICAL_VOLUME -> {
                    if (c.size() > newSize) {
                        throw new ImpossiblePlanException(p.device() + ": contains a " + c.describe() + " of " + c.size()
                                + " bytes, which shrinking the partition to " + newSize + " bytes would damage (option '" + option + "')");
                    }
                }
                case SWAP -> {
                    // recreated at the new size
                }
            }
        }
        s.op = Operation.RESIZE;
        s.newSize = newSize;
    }

    /** Output size minus what the partitions need and a worst-case overhead; negative is a deficit. */
    long surplus() {
        long ss = disk.sectorSize();
        long firstStartSectors = disk.partitions().get(0).start() / ss;
        long startOverhead = Math.max(Math.max(GPT_SECTORS, MAX_BOOTLOADER / 512), firstStartSectors);
        long alignmentOverhead = options.alignment() * (disk.partitions().size() + 1);
        long overhead = ss * (startOverhead + alignmentOverhead + GPT_SECTORS);
        long required = 0;
        for (Slot s : slots.values()) {
            if (s.deleted) {
                continue;
            }
            required += s.op == Operation.RESIZE ? s.newSize : s.part.size();
        }
        return outputSize - (required + overhead);
    }

    private List<ResizePlan.LvExpansion> lvExpansions() {
        List<ResizePlan.LvExpansion> out = new ArrayList<>();
        for (String name : options.lvExpands()) {
            DiskLayout.LogicalVolume lv = disk.logicalVolumes().stream()
                    .filter(l -> l.device().equals(name)).findFirst()
                    .orElseThrow(() -> new ImpossiblePlanException(name + ": logical volume not found in the source disk (option 'lvExpand'; it has "
                            + String.join(", ", disk.logicalVolumes().stream().map(DiskLayout.LogicalVolume::device).toList()) + ")"));
            out.add(new ResizePlan.LvExpansion(lv.device(), lv.content(), expandMethod(lv.content())));
        }
        return out;
    }

    /** The method virt-resize uses to grow this content; null when it cannot (or must not) be grown. */
    ExpandMethod expandMethod(Content c) {
        if (!options.expandContent()) {
            return null;
        }
        return switch (c.kind()) {
            case PHYSICAL_VOLUME -> ExpandMethod.PVRESIZE;
            case SWAP -> ExpandMethod.MKSWAP;
            case FILESYSTEM -> switch (c.fsType()) {
                case "ext2", "ext3", "ext4" -> ExpandMethod.RESIZE2FS;
                case "xfs" -> growableFs.contains("xfs") ? ExpandMethod.XFS_GROWFS : null;
                case "btrfs" -> growableFs.contains("btrfs") ? ExpandMethod.BTRFS_FILESYSTEM_RESIZE : null;
                case "ntfs" -> growableFs.contains("ntfs") ? ExpandMethod.NTFSRESIZE : null;
                default -> null;
            };
            case UNKNOWN, EXTENDED -> null;
        };
    }

    /**
     * A filesystem whose partition (or LV) changes size but that we cannot
     * grow is refused up front (virt-resize's {@code --unknown-filesystems error}),
     * unless content expansion is switched off.
     */
    private void checkGrowable(List<ResizePlan.LvExpansion> lvs) {
        if (!options.expandContent()) {
            return;
        }
        for (Slot s : slots.values()) {
            Content c = s.part.content();
            if (!s.deleted && s.op == Operation.RESIZE && c.kind() == Kind.FILESYSTEM && expandMethod(c) == null) {
                throw new ImpossiblePlanException(s.part.device() + ": cannot grow a " + c.fsType()
                        + " filesystem (no method for it here); resize without it, or set noExpandContent");
            }
        }
        for (ResizePlan.LvExpansion lv : lvs) {
            if (lv.content().kind() == Kind.FILESYSTEM && lv.expandMethod() == null) {
                throw new ImpossiblePlanException(lv.device() + ": cannot grow a " + lv.content().fsType()
                        + " filesystem (no method for it here); set noExpandContent to grow only the LV");
            }
        }
    }

    /**
     * virt-resize moves the first partition to the alignment boundary only
     * when asked ({@code always}) or, with {@code auto}, for the one case whose
     * boot loader it knows how to fix: a single bootable NTFS partition that
     * is aligned to less than 4 KiB.
     */
    private boolean alignFirst() {
        return switch (options.alignFirst()) {
            case ALWAYS -> true;
            case NEVER -> false;
            case AUTO -> {
                List<Part> ps = disk.partitions();
                if (ps.size() != 1) {
                    yield false;
                }
                Part p = ps.get(0);
                Slot s = slots.get(p.device());
                yield !s.deleted && p.bootable() && p.content().kind() == Kind.FILESYSTEM
                        && "ntfs".equals(p.content().fsType()) && alignmentBits(p.start()) < 12;
            }
        };
    }

    /** How many low bits of {@code n} are zero (64 for zero). */
    private static int alignmentBits(long n) {
        return n == 0 ? 64 : Long.numberOfTrailingZeros(n);
    }

    private List<Target> targets(boolean alignFirst, long surplus) {
        long ss = disk.sectorSize();
        long a = options.alignment();
        long start = alignFirst ? a : disk.partitions().get(0).start() / ss;
        int number = 1;
        List<Target> out = new ArrayList<>();
        for (Slot s : slots.values()) {
            if (s.deleted) {
                continue;
            }
            Part p = s.part;
            long end;
            long next;
            long copyBytes;
            if (s.op == Operation.RESIZE) {
                next = roundUp(start + divRoundUp(s.newSize, ss), a);
                end = next - 1; // a resized partition runs up to the next boundary
                copyBytes = Math.min(s.newSize, p.size());
            } else {
                long endExclusive = start + divRoundUp(p.size(), ss);
                end = endExclusive - 1; // a copied one keeps its exact size
                next = roundUp(endExclusive, a);
                copyBytes = s.op == Operation.IGNORE ? 0 : p.size();
            }
            ExpandMethod method = s.op == Operation.RESIZE ? expandMethod(p.content()) : null;
            out.add(new Target(number++, p.device(), s.op, start, end, (end - start + 1) * ss, p.bootable(), p.mbrId(),
                    p.gptType(), p.gptGuid(), p.gptAttributes(), p.name(), p.content(), copyBytes, method));
            start = next;
        }
        if (options.extraPartition() && surplus >= MIN_EXTRA_PARTITION) {
            long end = outputSize / ss - 64; // parted's "-64s": 64 sectors before the end
            out.add(new Target(number, null, Operation.EXTRA, start, end, (end - start + 1) * ss, false, null, null,
                    null, null, null, Content.UNKNOWN, 0, null));
        }
        return out;
    }

    private static long divRoundUp(long n, long d) {
        return (n + d - 1) / d;
    }

    private static long roundUp(long n, long a) {
        return divRoundUp(n, a) * a;
    }
}
