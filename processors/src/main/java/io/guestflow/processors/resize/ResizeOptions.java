package io.guestflow.processors.resize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The options of a {@code resize} job, mirroring virt-resize's.
 *
 * @param size            output disk size: absolute ({@code 10G}) or relative to the input ({@code +1G}); null = the input's size
 * @param expand          partition that takes the surplus space ({@code --expand})
 * @param resizes         {@code PART=SIZE}, {@code PART=+N}, {@code PART=-N}, {@code PART=N%} ({@code --resize})
 * @param shrink          partition that gives up the deficit ({@code --shrink})
 * @param deletes         partitions left out of the output ({@code --delete})
 * @param ignores         partitions created but not copied ({@code --ignore})
 * @param lvExpands       LVs grown to fill their VG, with their content ({@code --lv-expand})
 * @param expandContent   grow filesystems/PVs/swap of resized partitions (false: {@code --no-expand-content})
 * @param alignFirst      {@code auto}, {@code never} or {@code always} ({@code --align-first})
 * @param alignment       partition alignment in sectors ({@code --alignment}, default 128)
 * @param extraPartition  put a surplus of 10 MiB or more into a new last partition (false: {@code --no-extra-partition})
 * @param outputFormat    format of the output image; null = the job output's, else the input's
 * @param dryRun          compute and return the plan only; nothing is written
 */
public record ResizeOptions(String size, String expand, List<String> resizes, String shrink, List<String> deletes,
                            List<String> ignores, List<String> lvExpands, boolean expandContent, AlignFirst alignFirst,
                            long alignment, boolean extraPartition, String outputFormat, boolean dryRun) {

    /** Whether the first partition moves to the alignment boundary ({@code --align-first}). */
    public enum AlignFirst {
        /** only where virt-resize knows how to fix the boot loader: a lone bootable NTFS partition */
        AUTO,
        NEVER,
        ALWAYS;

        /** The option's text ({@code auto}, {@code never}, {@code always}); null = auto. */
        static AlignFirst parse(String text) {
            if (text == null) {
                return AUTO;
            }
            for (AlignFirst a : values()) {
                if (a.name().toLowerCase(java.util.Locale.ROOT).equals(text)) {
                    return a;
                }
            }
            throw new IllegalArgumentException("option 'alignFirst' must be auto, never or always");
        }
    }

    /** Formats qemu-img can create an output disk in. */
    public static final Set<String> OUTPUT_FORMATS = Set.of("raw", "qcow2", "vmdk", "vdi", "vhdx", "vpc");

    public static final Set<String> NAMES = Set.of("size", "expand", "resize", "shrink", "delete", "ignore", "lvExpand",
            "noExpandContent", "alignFirst", "alignment", "noExtraPartition", "outputFormat", "dryRun");

    /** Parses and checks options; an {@link IllegalArgumentException} names the bad one. */
    public static ResizeOptions parse(ObjectNode o) {
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!NAMES.contains(name)) {
                throw new IllegalArgumentException("resize has no option '" + name + "' (it has: "
                        + new java.util.TreeSet<>(NAMES) + ")");
            }
        }
        String size = text(o, "size");
        if (size != null && (!Sizes.isResizeField(size) || size.endsWith("%") && !Sizes.isRelative(size))) {
            throw new IllegalArgumentException("option 'size' must be a size such as 10G, 512M or +1G (got '" + size + "')");
        }
        String expand = text(o, "expand");
        String shrink = text(o, "shrink");
        if (expand != null && shrink != null) {
            throw new IllegalArgumentException("options 'expand' and 'shrink' cannot be used together");
        }
        List<String> resizes = list(o, "resize");
        for (String r : resizes) {
            int eq = r.indexOf('=');
            if (eq <= 0 || eq == r.length() - 1) {
                throw new IllegalArgumentException("option 'resize': '" + r + "' must be PART=SIZE (e.g. /dev/sda2=+1G)");
            }
            if (!Sizes.isResizeField(r.substring(eq + 1))) {
                throw new IllegalArgumentException("option 'resize': cannot parse size field in '" + r + "'");
            }
        }
        AlignFirst alignFirst = AlignFirst.parse(text(o, "alignFirst"));
        long alignment = 128;
        JsonNode a = o.get("alignment");
        if (a != null) {
            if (!a.canConvertToLong() || !a.isIntegralNumber() || a.asLong() < 1) {
                throw new IllegalArgumentException("option 'alignment' must be a positive number of sectors");
            }
            alignment = a.asLong();
        }
        String outputFormat = text(o, "outputFormat");
        if (outputFormat != null && !OUTPUT_FORMATS.contains(outputFormat)) {
            throw new IllegalArgumentException("option 'outputFormat' must be one of " + new java.util.TreeSet<>(OUTPUT_FORMATS));
        }
        return new ResizeOptions(size, expand, resizes, shrink, list(o, "delete"), list(o, "ignore"),
                list(o, "lvExpand"), !bool(o, "noExpandContent"), alignFirst, alignment, !bool(o, "noExtraPartition"),
                outputFormat, bool(o, "dryRun"));
    }

    private static String text(ObjectNode o, String name) {
        JsonNode v = o.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (name.equals("size") && v.isIntegralNumber()) {
            return v.asText(); // plain bytes
        }
        if (!v.isTextual() || v.asText().isBlank()) {
            throw new IllegalArgumentException("option '" + name + "' must be a non-empty string");
        }
        return v.asText().strip();
    }

    /** A string or an array of strings. */
    private static List<String> list(ObjectNode o, String name) {
        JsonNode v = o.get(name);
        List<String> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (v.isTextual() && !v.asText().isBlank()) {
            out.add(v.asText().strip());
            return out;
        }
        if (v.isArray()) {
            for (JsonNode e : v) {
                if (!e.isTextual() || e.asText().isBlank()) {
                    throw new IllegalArgumentException("option '" + name + "' must be a string or an array of strings");
                }
                out.add(e.asText().strip());
            }
            return out;
        }
        throw new IllegalArgumentException("option '" + name + "' must be a string or an array of strings");
    }

    private static boolean bool(ObjectNode o, String name) {
        JsonNode v = o.get(name);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new IllegalArgumentException("option '" + name + "' must be true or false");
        }
        return v.asBoolean();
    }
}
