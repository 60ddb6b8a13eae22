package io.guestflow.tests;

import static io.guestflow.pool.QemuImgRun.qemuImg;
import static org.assertj.core.api.Assertions.assertThat;

import io.guestflow.pool.FifoCanary;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Crafted images, each with the refusal it must get: every way an image can
 * name another host file (qcow2 backing chains and data files, VMDK extents
 * and parents), chains that leave the root deep down, FIFOs, sockets,
 * devices and symlinks anywhere in a chain, sparse giants, formats outside
 * the allowlist, and truncated or damaged headers of every accepted format.
 * Built with qemu-img and byte patches; files outside the root are FIFO
 * {@link FifoCanary canaries} where qemu-img could be tricked into opening
 * them, so a test can tell that nothing did.
 */
final class HostileImages {
    /**
     * One image and what must come of a job on it.
     *
     * @param code   the result's error code (REJECTED: refused by the path policy before the probe)
     * @param reason text the reason must contain (the file it names, mostly)
     */
    record Case(String name, Path disk, String format, String code, String reason) {
    }

    final Path root;
    final Path outside;
    final List<Case> cases = new ArrayList<>();
    final List<FifoCanary> canaries = new ArrayList<>();
    private final List<ServerSocketChannel> sockets = new ArrayList<>();

    /** {@code root}: the engine's image root; {@code outside}: a folder beside it, outside every root. */
    HostileImages(Path root, Path outside) {
        this.root = root;
        this.outside = outside;
    }

    private Path canary(String name) throws Exception {
        FifoCanary c = new FifoCanary(outside.resolve(name));
        canaries.add(c);
        return c.fifo();
    }

    private void add(String name, Path disk, String code, String reason) {
        add(name, disk, null, code, reason);
    }

    private void add(String name, Path disk, String format, String code, String reason) {
        cases.add(new Case(name, disk, format, code, reason));
    }

    private Path create(String name, String format, String size, String... options) throws Exception {
        Path p = root.resolve(name);
        List<String> args = new ArrayList<>(List.of("create", "-q", "-f", format));
        args.addAll(List.of(options));
        args.add(p.toString());
        args.add(size);
        qemuImg(args.toArray(String[]::new));
        return p;
    }

    private static void patch(Path file, long offset, byte[] bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            f.write(bytes);
        }
    }

    private static void patchInt(Path file, long offset, int value) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            f.writeInt(value);
        }
    }

    private static void truncate(Path file, long length) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(length);
        }
    }

    private static Path text(Path p, String s) throws IOException {
        return Files.writeString(p, s);
    }

    private static String descriptor(String createType, String... extents) {
        StringBuilder b = new StringBuilder("# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\""
                + createType + "\"\n\n# Extent description\n");
        for (String e : extents) {
            b.append(e).append('\n');
        }
        return b.append("\nddb.virtualHWVersion = \"4\"\n").toString();
    }

    /** Builds every case; the engine is expected to run with backing files allowed, the default allowlist, and 1 TiB at most. */
    HostileImages build() throws Exception {
        externalDataFiles();
        vmdkExtents();
        backingChains();
        specialFiles();
        sparseGiants();
        damagedHeaders();
        formatsOutsideTheAllowlist();
        return this;
    }

    private void externalDataFiles() throws Exception {
        // qemu-img create makes the data file: a regular file first, a FIFO canary once the image exists
        Path fifoPath = outside.resolve("data.fifo");
        Path img = create("data-file-outside.qcow2", "qcow2", "1M", "-o", "data_file=" + fifoPath);
        Files.delete(fifoPath);
        canary("data.fifo");
        add("qcow2 data file outside the root", img, "IMAGE_REFUSED", "external data file (" + fifoPath + ")");
        add("qcow2 data file /etc/shadow", dataFileNamed("data-file-shadow.qcow2", "/etc/shadow"), "IMAGE_REFUSED",
                "/etc/shadow");
        add("qcow2 data file /dev/zero", dataFileNamed("data-file-dev.qcow2", "/dev/zero"), "IMAGE_REFUSED", "/dev/zero");
        Path inRoot = create("data-file-in-root.qcow2", "qcow2", "1M", "-o", "data_file=" + root.resolve("data-file.raw"));
        add("qcow2 data file under the root (feature not allowed)", inRoot, "IMAGE_REFUSED", "qcow2-data-file");
        // incompatible feature bit 2 (external data file) without a name
        Path bit = create("data-file-bit.qcow2", "qcow2", "1M");
        patch(bit, 72 + 7, new byte[] {4});
        add("qcow2 data-file bit without a name", bit, "IMAGE_REFUSED", "none named");
    }

    /**
     * A qcow2 whose data file is {@code target}, never touched while crafting: the image is made with a
     * data file of a name as long as {@code target} padded with leading slashes, whose bytes are then replaced.
     */
    private Path dataFileNamed(String name, String target) throws Exception {
        Path scratch = outside.resolve(name + ".raw");
        String padded = "/".repeat(Math.max(0, scratch.toString().length() - target.length())) + target;
        Path img = create(name, "qcow2", "1M", "-o", "data_file=" + scratch);
        byte[] all = Files.readAllBytes(img);
        byte[] old = scratch.toString().getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(all, old);
        assertThat(at).as("data file name in %s", img).isPositive();
        patch(img, at, padded.getBytes(StandardCharsets.US_ASCII));
        Files.delete(scratch);
        return img;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private void vmdkExtents() throws Exception {
        add("vmdk extent /etc/shadow", text(root.resolve("extent-shadow.vmdk"),
                descriptor("monolithicFlat", "RW 2048 FLAT \"/etc/shadow\" 0")), "IMAGE_REFUSED", "/etc/shadow");
        Path fifo = canary("extent.fifo");
        add("vmdk extent FIFO outside the root", text(root.resolve("extent-fifo.vmdk"),
                descriptor("monolithicFlat", "RW 2048 FLAT \"" + fifo + "\" 0")), "IMAGE_REFUSED", fifo.toString());
        add("vmdk relative extent leaving the root", text(root.resolve("extent-relative.vmdk"),
                descriptor("monolithicFlat", "RW 2048 FLAT \"../" + outside.getFileName() + "/secret.txt\" 0")),
                "IMAGE_REFUSED", "secret.txt");
        add("vmdk extent as a sparse extent /dev/sda", text(root.resolve("extent-dev.vmdk"),
                descriptor("twoGbMaxExtentSparse", "RW 4096 SPARSE \"/dev/sda\"")), "IMAGE_REFUSED", "/dev/sda");
        Path flat = create("flat.vmdk", "vmdk", "1M", "-o", "subformat=monolithicFlat");
        add("vmdk monolithicFlat under the root (descriptors not allowed)", flat, "IMAGE_REFUSED", "flat-flat.vmdk");
        Path split = create("split.vmdk", "vmdk", "1M", "-o", "subformat=twoGbMaxExtentSparse");
        add("vmdk twoGbMaxExtentSparse", split, "IMAGE_REFUSED", "split-s001.vmdk");
        // qemu's probe would not call this a descriptor (a line before version=), the header check still does
        add("vmdk descriptor hiding behind a first line", text(root.resolve("hidden.vmdk"),
                "hello\n" + descriptor("monolithicFlat", "RW 2048 FLAT \"/etc/passwd\" 0")), "raw",
                "FORMAT_MISMATCH", "declared format raw does not match the file (content is vmdk (descriptor))");
        // a sparse VMDK whose embedded descriptor names a parent
        Path parent = create("parent.vmdk", "vmdk", "1M", "-o", "subformat=monolithicSparse");
        patch(parent, 512, (descriptor("monolithicSparse", "RW 2048 SPARSE \"parent.vmdk\"")
                .replace("parentCID=ffffffff", "parentCID=12345678\nparentFileNameHint=\"/etc/shadow\"") + "\0")
                .getBytes(StandardCharsets.US_ASCII));
        add("sparse vmdk with a parent /etc/shadow", parent, "IMAGE_REFUSED", "parent disk (/etc/shadow)");
        Path cowd = root.resolve("cowd.vmdk");
        Files.write(cowd, new byte[4096]);
        patch(cowd, 0, "COWD".getBytes(StandardCharsets.US_ASCII));
        add("VMDK3 COWD", cowd, "IMAGE_REFUSED", "COWD");
    }

    private void backingChains() throws Exception {
        // top -> mid -> base -> a FIFO outside the root: the chain leaves the root at depth 3
        Path base = create("chain-base.qcow2", "qcow2", "1M");
        Path mid = root.resolve("chain-mid.qcow2");
        Path top = root.resolve("chain-top.qcow2");
        qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "chain-base.qcow2", mid.toString());
        qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "chain-mid.qcow2", top.toString());
        Path deep = canary("deep.fifo");
        qemuImg("rebase", "-q", "-u", "-F", "raw", "-b", deep.toString(), base.toString());
        add("chain leaving the root at depth 3", top, "IMAGE_REFUSED", base + " names backing file '" + deep + "'");
        chain("symlink", "raw", linkTo("chain-link", Path.of("/etc/passwd")).getFileName().toString(), "resolving to /etc/passwd");
        chain("json", "raw", "json:{\"file.driver\":\"file\",\"file.filename\":\"/etc/shadow\"}", "not a plain file path");
        chain("nbd", "raw", "nbd://attacker.example:10809/x", "not a plain file path");
        chain("fat", "raw", "fat:rw:/etc", "not a plain file path");
        chain("relative", "raw", "../" + outside.getFileName() + "/secret.txt", "outside the image root");
        chain("missing", "qcow2", "nothing-here.qcow2", "does not exist");
        Path dir = Files.createDirectories(root.resolve("a-directory"));
        chain("directory", "raw", dir.toString(), "a directory, not a regular file");
        Path fifo = root.resolve("in-root.fifo");
        canaries.add(new FifoCanary(fifo));
        chain("FIFO in the root", "raw", fifo.toString(), "a FIFO, not a regular file");
        Path sock = root.resolve("in-root.sock");
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(sock));
        sockets.add(s);
        chain("socket in the root", "raw", sock.toString(), "a socket, not a regular file");
        // a loop: a -> b -> a
        Path a = create("loop-a.qcow2", "qcow2", "1M");
        Path b = create("loop-b.qcow2", "qcow2", "1M");
        qemuImg("rebase", "-q", "-u", "-F", "qcow2", "-b", b.toString(), a.toString());
        qemuImg("rebase", "-q", "-u", "-F", "qcow2", "-b", a.toString(), b.toString());
        add("backing chain loop", a, "IMAGE_REFUSED", "loops back");
        // 18 images under the root, each backed by the next
        Path next = create("long-17.qcow2", "qcow2", "1M");
        for (int i = 16; i >= 0; i--) {
            Path p = root.resolve("long-" + i + ".qcow2");
            qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", next.getFileName().toString(), p.toString());
            next = p;
        }
        add("backing chain 18 deep", next, "IMAGE_REFUSED", "deeper than 16");
        // a backing file whose format is not recorded: qemu would guess it
        Path unrecorded = root.resolve("unrecorded.qcow2");
        // (over a base of its own: qemu-img create opens the chain it builds on, and chain-base now leads to a canary)
        qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", create("unrecorded-base.qcow2", "qcow2", "1M").toString(),
                unrecorded.toString());
        byte[] head = Files.readAllBytes(unrecorded);
        for (int i = 72; i + 4 <= 4096; i += 4) {
            if ((head[i] & 0xff) == 0xE2 && (head[i + 1] & 0xff) == 0x79 && (head[i + 2] & 0xff) == 0x2A
                    && (head[i + 3] & 0xff) == 0xCA) {
                patchInt(unrecorded, i, 0x12345678); // an unknown extension: qemu skips it
                break;
            }
        }
        add("backing file without a recorded format", unrecorded, "IMAGE_REFUSED", "without recording its format");
        Path raw = Files.write(root.resolve("plain.raw"), new byte[1 << 20]);
        chain("format that lies", "qcow2", raw.toString(), "as qcow2, but its content is raw");
        Path desc = text(root.resolve("chain-descriptor.vmdk"), descriptor("monolithicFlat", "RW 2048 FLAT \"/etc/shadow\" 0"));
        chain("VMDK descriptor below", "vmdk", desc.toString(), "/etc/shadow");
    }

    /** A qcow2 under the root whose backing file is {@code backing} (recorded as {@code format}). */
    private void chain(String what, String format, String backing, String reason) throws Exception {
        Path p = create("chain-" + what.replaceAll("[^a-zA-Z0-9]+", "-") + ".qcow2", "qcow2", "1M");
        qemuImg("rebase", "-q", "-u", "-F", format, "-b", backing, p.toString());
        add("backing file: " + what, p, "missing".equals(what) ? "DISK_NOT_FOUND" : "IMAGE_REFUSED", reason);
    }

    private Path linkTo(String name, Path target) throws IOException {
        return Files.createSymbolicLink(root.resolve(name), target);
    }

    private void specialFiles() throws Exception {
        Path fifo = root.resolve("disk.fifo");
        canaries.add(new FifoCanary(fifo));
        add("the disk itself is a FIFO", fifo, "DISK_UNREADABLE", "not a regular file");
        add("the disk is a symlink to /etc/passwd", linkTo("passwd.img", Path.of("/etc/passwd")), "REJECTED",
                "outside the allowed root");
        add("the disk is a symlink to /dev/zero", linkTo("zero.img", Path.of("/dev/zero")), "REJECTED", "resolves to device");
        Path fifoOut = canary("outside.fifo");
        add("the disk is a symlink to a FIFO outside", linkTo("fifo-link.img", fifoOut), "REJECTED", "outside the allowed root");
        add("the disk is a directory", Files.createDirectories(root.resolve("dir.img")), "DISK_UNREADABLE", "not a regular file");
        add("the disk is empty", Files.createFile(root.resolve("empty.img")), "DISK_EMPTY", "zero-length");
        Path dev = root.resolve("null.dev");
        Process p = new ProcessBuilder("mknod", dev.toString(), "c", "1", "3").start();
        if (p.waitFor() == 0) {
            add("the disk is a character device in the root", dev, "DISK_UNREADABLE", "not a regular file");
        }
    }

    private void sparseGiants() throws Exception {
        Path raw = root.resolve("giant.img");
        try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(2L << 40);
        }
        add("sparse raw giant (2 TiB)", raw, "raw", "IMAGE_REFUSED", "virtual size 2048 GiB exceeds the largest accepted, 1024 GiB");
        add("sparse qcow2 giant (64 TiB)", create("giant.qcow2", "qcow2", "64T"), "IMAGE_REFUSED", "65536 GiB exceeds");
        add("sparse vhdx giant (32 TiB)", create("giant.vhdx", "vhdx", "32T"), "vhdx", "IMAGE_REFUSED", "exceeds the largest");
        add("sparse vdi giant (4 TiB)", create("giant.vdi", "vdi", "4T"), "IMAGE_REFUSED", "exceeds the largest");
    }

    private void damagedHeaders() throws Exception {
        Path q1 = create("cut-header.qcow2", "qcow2", "1M");
        truncate(q1, 60);
        add("qcow2 cut inside its header", q1, "DISK_CORRUPT", "truncated header");
        Path q2 = create("bad-clusters.qcow2", "qcow2", "1M");
        patchInt(q2, 20, 40);
        add("qcow2 with cluster_bits 40", q2, "DISK_CORRUPT", "cluster_bits 40");
        Path q3 = create("cut-tables.qcow2", "qcow2", "64M", "-o", "preallocation=metadata");
        truncate(q3, Files.size(q3) / 3);
        add("qcow2 cut through its tables", q3, "DISK_CORRUPT", "damaged or truncated");
        Path q4 = create("bad-extension.qcow2", "qcow2", "1M");
        int headerLength;
        try (RandomAccessFile f = new RandomAccessFile(q4.toFile(), "r")) {
            f.seek(100);
            headerLength = f.readInt();
        }
        patchInt(q4, headerLength + 4, 1 << 20); // the first header extension claims 1 MiB
        add("qcow2 header extension running past its cluster", q4, "DISK_CORRUPT", "runs past the first cluster");
        Path v1 = create("cut-header.vmdk", "vmdk", "1M");
        truncate(v1, 100);
        add("vmdk cut inside its header", v1, "DISK_CORRUPT", "truncated header");
        Path v2 = create("cut-grains.vmdk", "vmdk", "64M");
        truncate(v2, 2048);
        add("vmdk cut before its grain directory", v2, "DISK_CORRUPT", "grain directory");
        Path d1 = create("cut-header.vdi", "vdi", "8M");
        truncate(d1, 300);
        add("vdi cut inside its header", d1, "DISK_CORRUPT", "truncated header");
        Path d2 = create("cut-map.vdi", "vdi", "2G");
        truncate(d2, 600);
        add("vdi cut through its block map", d2, "DISK_CORRUPT", "block map");
        Path d3 = create("differencing.vdi", "vdi", "8M");
        patch(d3, 0x4c, new byte[] {4, 0, 0, 0});
        add("differencing vdi", d3, "IMAGE_REFUSED", "differencing VDI");
        Path p1 = create("cut.vhd", "vpc", "8M");
        truncate(p1, Files.size(p1) - 512);
        add("dynamic vhd without its footer", p1, "DISK_CORRUPT", "no footer at the end");
        Path p2 = create("differencing.vhd", "vpc", "8M");
        patchInt(p2, 60, 4);
        add("differencing vhd", p2, "IMAGE_REFUSED", "differencing VHD");
        Path p3 = create("bad-dyn.vhd", "vpc", "8M");
        patch(p3, 512, "notsparse".getBytes(StandardCharsets.US_ASCII));
        add("vhd without its dynamic header", p3, "DISK_CORRUPT", "cxsparse");
        Path x1 = create("cut.vhdx", "vhdx", "8M");
        truncate(x1, 100_000);
        add("vhdx cut inside its headers", x1, "DISK_CORRUPT", "truncated");
        Path x2 = create("bad-headers.vhdx", "vhdx", "8M");
        patch(x2, 64 * 1024, new byte[4096]);
        patch(x2, 128 * 1024, new byte[4096]);
        add("vhdx with both headers zeroed", x2, "DISK_CORRUPT", "qemu-img cannot open it");
    }

    private void formatsOutsideTheAllowlist() throws Exception {
        add("qed", create("old.qed", "qed", "1M"), "IMAGE_REFUSED", "qed images are not accepted");
        add("qcow version 1", create("old.qcow", "qcow", "1M"), "IMAGE_REFUSED", "qcow images are not accepted");
        add("parallels", create("x.parallels", "parallels", "1M"), "IMAGE_REFUSED", "parallels images are not accepted");
        Path luks = root.resolve("x.luks");
        qemuImg("create", "-q", "--object", "secret,id=s0,data=hunter2", "-f", "luks", "-o", "key-secret=s0,iter-time=10",
                luks.toString(), "1M");
        add("luks", luks, "IMAGE_REFUSED", "luks images are not accepted");
        Path q = create("lies.qcow2", "qcow2", "1M");
        add("qcow2 declared raw", q, "raw", "FORMAT_MISMATCH", "declared format raw does not match the file (content is qcow2)");
        add("raw declared vmdk", Files.write(root.resolve("lies.img"), new byte[1 << 20]), "vmdk", "FORMAT_MISMATCH",
                "declared format vmdk");
    }

    void close() throws Exception {
        for (FifoCanary c : canaries) {
            c.close();
        }
        for (ServerSocketChannel s : sockets) {
            s.close();
        }
    }
}
