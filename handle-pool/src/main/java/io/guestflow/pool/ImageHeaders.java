package io.guestflow.pool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads an image file's header in Java, before any {@code qemu-img} sees the
 * file: which format qemu would take it for, which variant, and every other
 * file its metadata names (qcow2 backing file and external data file, VMDK
 * extents and parent). {@code qemu-img info} already opens VMDK extents and
 * {@code qemu-img check} opens qcow2 data files, so these names must be
 * judged before either runs.
 *
 * <p>Detection follows qemu's probes for every format that can name another
 * file (qcow, qcow2, qed, vmdk); the rest that qemu would detect differently
 * (bochs, cloop, dmg, ...) name nothing and are reported as {@code raw},
 * which is how guestflow then opens them. A VMDK descriptor is recognised
 * more widely than qemu does: any text whose first non-comment, non-blank
 * line is {@code version=}, or that holds an extent line.
 */
public final class ImageHeaders {
    /** How much of a text VMDK descriptor is read; qemu refuses larger ones. */
    private static final int MAX_DESCRIPTOR = 1 << 20;
    private static final int QCOW2_EXT_BACKING_FORMAT = 0xE2792ACA;
    private static final int QCOW2_EXT_DATA_FILE = 0x44415441;
    private static final long QCOW2_INCOMPAT_DATA_FILE = 1L << 2;
    private static final Pattern EXTENT = Pattern.compile(
            "(?m)^[ \\t]*(\\S{1,10})[ \\t]+\\d+[ \\t]+(\\S{1,10})[ \\t]+\"([^\"\\r\\n]*)\"");
    private static final Pattern PARENT_HINT = Pattern.compile("parentFileNameHint[ \\t]*=[ \\t]*\"([^\"\\r\\n]*)\"");

    private ImageHeaders() {
    }

    /** What a header names: a backing file, an external data file or a VMDK extent. */
    public enum RefKind {
        BACKING("backing file"), DATA_FILE("external data file"), EXTENT("extent");

        public final String label;

        RefKind(String label) {
            this.label = label;
        }
    }

    /**
     * One file named by an image.
     *
     * @param format the format the image records for it (qcow2's backing format), or null
     */
    public record Ref(RefKind kind, String name, String format) {
    }

    /**
     * @param format  the format qemu would take the file for
     * @param variant vmdk: sparse, descriptor or cowd; vpc: fixed, dynamic or differencing;
     *                vdi: dynamic, static or the type number; null otherwise
     * @param refs    every other file the metadata names
     * @param damage  why the header cannot be right (truncated, inconsistent), or null
     */
    public record Header(String format, String variant, List<Ref> refs, String damage) {
    }

    /** Reads {@code file}'s header; the file must be a regular file (never a FIFO: opening one blocks). */
    public static Header read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = read(ch, 0, (int) Math.min(size, 65536));
            if (startsWith(head, 0, "QFI\u00fb")) {
                int version = head.limit() >= 8 ? head.order(ByteOrder.BIG_ENDIAN).getInt(4) : 0;
                return version == 1 ? qcow1(ch, head, size) : qcow2(ch, head, size, version);
            }
            if (startsWith(head, 0, "QED\0")) {
                return qed(ch, head);
            }
            if (startsWith(head, 0, "KDMV")) {
                return vmdkSparse(ch, head, size);
            }
            if (startsWith(head, 0, "COWD")) {
                return new Header("vmdk", "cowd", List.of(), null);
            }
            if (startsWith(head, 0, "vhdxfile")) {
                return new Header("vhdx", null, List.of(), size < 256 * 1024
                        ? "truncated: " + size + " bytes, a VHDX needs its headers and region tables (256 KiB)" : null);
            }
            if (startsWith(head, 0, "conectix")) {
                return vpc(ch, head, size, false);
            }
            if (head.limit() >= 0x50 && head.order(ByteOrder.LITTLE_ENDIAN).getInt(0x40) == 0xbeda107f) {
                return vdi(head, size);
            }
            if (startsWith(head, 0, "LUKS\u00ba\u00be")) {
                return new Header("luks", null, List.of(), null);
            }
            if (startsWith(head, 0, "WithoutFreeSpace") || startsWith(head, 0, "WithouFreSpacExt")) {
                return new Header("parallels", null, List.of(), null);
            }
            Header descriptor = vmdkDescriptor(ch, head, size);
            if (descriptor != null) {
                return descriptor;
            }
            return new Header("raw", null, List.of(), null);
        }
    }

    /** A fixed VHD: qemu's probe sees raw (its footer is at the end), {@code -f vpc} reads it as a disk. */
    public static Header readFixedVpc(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 512) {
                return null;
            }
            ByteBuffer footer = read(ch, size - 512, 512);
            return startsWith(footer, 0, "conectix") ? vpc(ch, footer, size, true) : null;
        }
    }

    private static Header qcow2(FileChannel ch, ByteBuffer head, long size, int version) throws IOException {
        head.order(ByteOrder.BIG_ENDIAN);
        int minHeader = version >= 3 ? 104 : 72;
        if (head.limit() < minHeader) {
            return new Header("qcow2", null, List.of(), "truncated header: " + size + " bytes");
        }
        List<Ref> refs = new ArrayList<>();
        int clusterBits = head.getInt(20);
        if (clusterBits < 9 || clusterBits > 21) {
            return new Header("qcow2", null, List.of(), "cluster_bits " + clusterBits + " out of range");
        }
        long clusterSize = 1L << clusterBits;
        ByteBuffer cluster = clusterSize > head.limit() && size > head.limit()
                ? read(ch, 0, (int) Math.min(size, clusterSize)).order(ByteOrder.BIG_ENDIAN) : head;
        long backingOffset = head.getLong(8);
        int backingSize = head.getInt(16);
        String backingFormat = null;
        String dataFile = null;
        long incompatible = version >= 3 ? head.getLong(72) : 0;
        long extStart = version >= 3 ? Integer.toUnsignedLong(head.getInt(100)) : 72;
        long end = backingOffset > 0 ? Math.min(backingOffset, clusterSize) : clusterSize;
        long at = extStart;
        while (at + 8 <= end) {
            if (at + 8 > cluster.limit()) {
                return new Header("qcow2", null, List.of(), "truncated header extensions");
            }
            int type = cluster.getInt((int) at);
            long len = Integer.toUnsignedLong(cluster.getInt((int) at + 4));
            if (type == 0) {
                break;
            }
            if (at + 8 + len > cluster.limit()) {
                return new Header("qcow2", null, List.of(), "header extension 0x" + Integer.toHexString(type)
                        + " runs past the first cluster or the end of the file");
            }
            String text = string(cluster, (int) at + 8, (int) len);
            if (type == QCOW2_EXT_BACKING_FORMAT) {
                backingFormat = text;
            } else if (type == QCOW2_EXT_DATA_FILE) {
                dataFile = text;
            }
            at += 8 + (len + 7) / 8 * 8;
        }
        if (backingOffset != 0 || backingSize != 0) {
            if (backingSize <= 0 || backingSize > 1023 || backingOffset < 0 || backingOffset + backingSize > size) {
                return new Header("qcow2", null, List.of(), "backing file name of " + backingSize
                        + " bytes at offset " + backingOffset + " lies outside the file or is too long");
            }
            ByteBuffer name = read(ch, backingOffset, backingSize);
            refs.add(new Ref(RefKind.BACKING, string(name, 0, backingSize), backingFormat));
        }
        if (dataFile != null || (incompatible & QCOW2_INCOMPAT_DATA_FILE) != 0) {
            refs.add(new Ref(RefKind.DATA_FILE, dataFile == null ? "" : dataFile, "raw"));
        }
        return new Header("qcow2", null, List.copyOf(refs), null);
    }

    private static Header qcow1(FileChannel ch, ByteBuffer head, long size) throws IOException {
        head.order(ByteOrder.BIG_ENDIAN);
        if (head.limit() < 48) {
            return new Header("qcow", null, List.of(), "truncated header");
        }
        long offset = head.getLong(8);
        int len = head.getInt(16);
        if (offset != 0 && len > 0 && len <= 1023 && offset + len <= size) {
            return new Header("qcow", null, List.of(new Ref(RefKind.BACKING, string(read(ch, offset, len), 0, len), null)), null);
        }
        return new Header("qcow", null, List.of(), null);
    }

    private static Header qed(FileChannel ch, ByteBuffer head) throws IOException {
        head.order(ByteOrder.LITTLE_ENDIAN);
        if (head.limit() < 64) {
            return new Header("qed", null, List.of(), "truncated header");
        }
        long offset = Integer.toUnsignedLong(head.getInt(56));
        int len = head.getInt(60);
        if (offset != 0 && len > 0 && len <= 1023) {
            return new Header("qed", null, List.of(new Ref(RefKind.BACKING, string(read(ch, offset, len), 0, len), null)), null);
        }
        return new Header("qed", null, List.of(), null);
    }

    /**
     * monolithicSparse and streamOptimized: one file whose own header is the
     * only extent. qemu reads a parent name from the descriptor that follows
     * the header (at 512 bytes), whatever the header says; both places are read.
     */
    private static Header vmdkSparse(FileChannel ch, ByteBuffer head, long size) throws IOException {
        head.order(ByteOrder.LITTLE_ENDIAN);
        if (head.limit() < 512) {
            return new Header("vmdk", "sparse", List.of(), "truncated header: " + size + " bytes");
        }
        StringBuilder text = new StringBuilder(string(read(ch, 512, (int) Math.min(Math.max(0, size - 512), 20 * 512)), 0, -1));
        long descOffset = head.getLong(28);
        long descSize = head.getLong(36);
        if (descOffset > 0 && descSize > 0 && descSize < 2048 && descOffset < size / 512) {
            int len = (int) Math.min(descSize * 512, size - descOffset * 512);
            text.append('\n').append(string(read(ch, descOffset * 512, len), 0, -1));
        }
        List<Ref> refs = new ArrayList<>();
        Matcher parent = PARENT_HINT.matcher(text);
        while (parent.find()) {
            if (!parent.group(1).isBlank()) {
                refs.add(new Ref(RefKind.BACKING, parent.group(1), null));
            }
        }
        long gdOffset = head.getLong(56);
        String damage = gdOffset > 0 && gdOffset != -1 && gdOffset * 512 >= size
                ? "grain directory at sector " + gdOffset + " lies past the end of the file (" + size + " bytes): truncated"
                : null;
        return new Header("vmdk", "sparse", List.copyOf(refs), damage);
    }

    /** A text descriptor (createType monolithicFlat, twoGbMaxExtent..., vmfs ...): every extent is another file. */
    private static Header vmdkDescriptor(FileChannel ch, ByteBuffer head, long size) throws IOException {
        String start = string(head, 0, -1);
        boolean probed = qemuWouldProbeVmdk(start);
        if (!probed && !EXTENT.matcher(start).find()) {
            return null;
        }
        String text = size > head.limit() ? string(read(ch, 0, (int) Math.min(size, MAX_DESCRIPTOR)), 0, -1) : start;
        List<Ref> refs = new ArrayList<>();
        Matcher m = EXTENT.matcher(text);
        while (m.find()) {
            String type = m.group(2).toUpperCase(java.util.Locale.ROOT);
            refs.add(new Ref(RefKind.EXTENT, m.group(3), type.equals("FLAT") || type.equals("VMFS") ? "raw" : "vmdk"));
        }
        Matcher parent = PARENT_HINT.matcher(text);
        while (parent.find()) {
            if (!parent.group(1).isBlank()) {
                refs.add(new Ref(RefKind.BACKING, parent.group(1), null));
            }
        }
        return new Header("vmdk", "descriptor", List.copyOf(refs), null);
    }

    /** qemu's vmdk probe: only comment and blank lines before a {@code version=N} line. */
    static boolean qemuWouldProbeVmdk(String text) {
        for (String line : text.split("\n", -1)) {
            String l = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
            if (l.startsWith("#") || l.isBlank()) {
                continue;
            }
            return l.startsWith("version=");
        }
        return false;
    }

    /** A VHD footer (BE): type 2 fixed, 3 dynamic, 4 differencing (names a parent disk). */
    private static Header vpc(FileChannel ch, ByteBuffer footer, long size, boolean fixedAtEnd) throws IOException {
        footer.order(ByteOrder.BIG_ENDIAN);
        if (footer.limit() < 512 || size < 512) {
            return new Header("vpc", null, List.of(), "truncated footer");
        }
        int type = footer.getInt(60);
        String variant = switch (type) {
            case 2 -> "fixed";
            case 3 -> "dynamic";
            case 4 -> "differencing";
            default -> "type " + type;
        };
        if (fixedAtEnd || type == 2) {
            return new Header("vpc", variant, List.of(), null);
        }
        long dynOffset = footer.getLong(16);
        if (dynOffset < 0 || dynOffset + 1024 > size) {
            return new Header("vpc", variant, List.of(), "dynamic disk header at " + dynOffset + " lies past the end of the file");
        }
        ByteBuffer dyn = read(ch, dynOffset, 1024).order(ByteOrder.BIG_ENDIAN);
        if (!startsWith(dyn, 0, "cxsparse")) {
            return new Header("vpc", variant, List.of(), "no dynamic disk header (cxsparse) at " + dynOffset);
        }
        long bat = dyn.getLong(16);
        long entries = Integer.toUnsignedLong(dyn.getInt(28));
        if (bat < 0 || bat + entries * 4 > size) {
            return new Header("vpc", variant, List.of(), "block table (" + entries + " entries at " + bat
                    + ") runs past the end of the file (" + size + " bytes): truncated");
        }
        if (!startsWith(read(ch, size - 512, 512), 0, "conectix")) {
            return new Header("vpc", variant, List.of(), "no footer at the end of the file: truncated");
        }
        return new Header("vpc", variant, List.of(), null);
    }

    /** VirtualBox VDI (LE): type 1 dynamic, 2 static; undo and differencing images name a parent. */
    private static Header vdi(ByteBuffer head, long size) {
        head.order(ByteOrder.LITTLE_ENDIAN);
        if (head.limit() < 0x190) {
            return new Header("vdi", null, List.of(), "truncated header: " + size + " bytes");
        }
        int type = head.getInt(0x4c);
        String variant = switch (type) {
            case 1 -> "dynamic";
            case 2 -> "static";
            case 3 -> "undo";
            case 4 -> "differencing";
            default -> "type " + type;
        };
        long bmap = Integer.toUnsignedLong(head.getInt(0x154));
        long data = Integer.toUnsignedLong(head.getInt(0x158));
        long blocks = Integer.toUnsignedLong(head.getInt(0x180));
        if (bmap + blocks * 4 > size || data > size) {
            return new Header("vdi", variant, List.of(), "block map (" + blocks + " entries at " + bmap
                    + ") or data (at " + data + ") lies past the end of the file (" + size + " bytes): truncated");
        }
        return new Header("vdi", variant, List.of(), null);
    }

    private static ByteBuffer read(FileChannel ch, long offset, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(Math.max(0, len));
        while (b.hasRemaining()) {
            int n = ch.read(b, offset + b.position());
            if (n < 0) {
                break;
            }
        }
        b.flip();
        return b;
    }

    private static boolean startsWith(ByteBuffer b, int at, String magic) {
        byte[] m = magic.getBytes(StandardCharsets.ISO_8859_1);
        if (b.limit() < at + m.length) {
            return false;
        }
        for (int i = 0; i < m.length; i++) {
            if (b.get(at + i) != m[i]) {
                return false;
            }
        }
        return true;
    }

    /** Bytes as text up to the first NUL ({@code len} -1: to the limit). */
    private static String string(ByteBuffer b, int at, int len) {
        int end = len < 0 ? b.limit() : Math.min(b.limit(), at + len);
        int stop = at;
        while (stop < end && b.get(stop) != 0) {
            stop++;
        }
        byte[] bytes = new byte[Math.max(0, stop - at)];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = b.get(at + i);
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
