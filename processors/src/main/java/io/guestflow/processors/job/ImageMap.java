package io.guestflow.processors.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where an image holds what, as {@code qemu-img map} and {@code qemu-img info}
 * see it from the host (read with {@code -U}: a running appliance may hold
 * the image). Offsets are guest offsets, as the appliance sees the disk.
 *
 * @param format      the image's format
 * @param virtualSize the disk's size as the guest sees it
 * @param clusterSize qcow2: the cluster size; other formats: 0
 * @param zeroClusters qcow2 v3 (compat 1.1): zero clusters exist, so a write of zeroes may become a hole
 * @param l2EntryBytes qcow2: bytes per L2 table entry (8, or 16 with extended L2); other formats: 0
 * @param extents     every extent of the map, in order
 */
public record ImageMap(String format, long virtualSize, long clusterSize, boolean zeroClusters, int l2EntryBytes,
                       List<Extent> extents) {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Host file blocks of raw images: the allocation unit of ext4 and xfs. */
    public static final long RAW_BLOCK = 4096;

    /**
     * One extent of {@code qemu-img map}.
     *
     * @param depth     0: the image itself; 1: its backing file, ...
     * @param data      reads from a data area (not known zero)
     * @param zero      reads as zeroes
     * @param hostSpace holds space in the host file of its layer (data, or a preallocated zero cluster)
     */
    public record Extent(long start, long length, int depth, boolean data, boolean zero, boolean hostSpace) {
        ByteRanges.Range range() {
            return new ByteRanges.Range(start, start + length);
        }
    }

    /** Reads the map of {@code image}, whose format is known. */
    public static ImageMap read(Path image, String format) {
        return read(image, format, true);
    }

    /** Only what {@code qemu-img info} says (no extents): format, sizes, cluster layout. */
    public static ImageMap header(Path image, String format) {
        return read(image, format, false);
    }

    private static ImageMap read(Path image, String format, boolean withExtents) {
        String file = image.toAbsolutePath().toString();
        try {
            JsonNode info = JSON.readTree(DiskOverlays.qemu("qemu-img", null, "info", "-U", "--output=json", "-f", format, file));
            JsonNode specific = info.path("format-specific").path("data");
            boolean qcow2 = "qcow2".equals(format);
            long cluster = qcow2 ? info.path("cluster-size").asLong(65536) : 0;
            boolean v3 = qcow2 && "1.1".equals(specific.path("compat").asText());
            int l2Entry = !qcow2 ? 0 : specific.path("extended-l2").asBoolean(false) ? 16 : 8;
            List<Extent> extents = new ArrayList<>();
            JsonNode map = withExtents ? JSON.readTree(DiskOverlays.qemu("qemu-img", null, "map", "-U", "--output=json",
                    "-f", format, file)) : JSON.createArrayNode();
            for (JsonNode e : map) {
                boolean data = e.path("data").asBoolean();
                // a raw file's holes have an offset too: only its data takes host space
                boolean hostSpace = data || qcow2 && e.has("offset");
                extents.add(new Extent(e.path("start").asLong(), e.path("length").asLong(), e.path("depth").asInt(),
                        data, e.path("zero").asBoolean(), hostSpace));
            }
            return new ImageMap(format, info.path("virtual-size").asLong(), cluster, v3, l2Entry, List.copyOf(extents));
        } catch (IOException e) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot read the map of " + image + ": " + e.getMessage(), e);
        }
    }

    /** Where the image itself (not its backing files) holds host space. */
    public ByteRanges hostSpace() {
        List<ByteRanges.Range> out = new ArrayList<>();
        for (Extent e : extents) {
            if (e.depth() == 0 && e.hostSpace()) {
                out.add(e.range());
            }
        }
        return ByteRanges.of(out);
    }

    /** The unit the host allocates in: qcow2 clusters, or file system blocks of a raw file. */
    public long allocationUnit() {
        return clusterSize > 0 ? clusterSize : RAW_BLOCK;
    }

    /**
     * qcow2: guest bytes one L2 table maps. A discard (or a write of zeroes)
     * where no L2 table exists yet makes qemu allocate one, so the image grows
     * by a cluster even when nothing was there to free. 0 for other formats.
     */
    public long l2Span() {
        return clusterSize == 0 ? 0 : clusterSize * (clusterSize / l2EntryBytes);
    }

    /**
     * For an overlay about to be committed: where its disk must read as holes
     * afterwards. {@code qemu-img commit} copies in chunks of up to 64 KiB and
     * writes a chunk that mixes changed and unchanged or zero parts as data,
     * zeroes included: the overlay's zero extents, and the disk's own holes
     * near what the overlay changed, may come out of it allocated. Those are
     * the ranges returned, minus what the overlay wrote as data.
     *
     * @param chunk a bound of the commit's copy granularity
     */
    public ByteRanges holesAfterCommit(long chunk) {
        List<ByteRanges.Range> written = new ArrayList<>();
        List<ByteRanges.Range> data = new ArrayList<>();
        List<ByteRanges.Range> zero = new ArrayList<>();
        List<ByteRanges.Range> diskHoles = new ArrayList<>();
        for (Extent e : extents) {
            if (e.depth() == 0) {
                written.add(e.range());
                (e.data() ? data : zero).add(e.range());
            } else if (!e.data()) {
                diskHoles.add(e.range());
            }
        }
        ByteRanges near = ByteRanges.of(written).roundOut(chunk);
        return ByteRanges.of(zero).union(ByteRanges.of(diskHoles).intersect(near)).minus(ByteRanges.of(data));
    }
}
