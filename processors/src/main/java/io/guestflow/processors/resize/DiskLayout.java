package io.guestflow.processors.resize;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/** What the source disk holds, as read from the appliance: the input of {@link ResizePlanner}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DiskLayout(String partitionTable, int sectorSize, long size, String diskGuid,
                         List<Part> partitions, List<LogicalVolume> logicalVolumes) {

    /** What a partition or LV contains, as far as resizing is concerned. */
    public enum Kind { UNKNOWN, FILESYSTEM, PHYSICAL_VOLUME, SWAP, EXTENDED }

    /**
     * @param fsType filesystem type for FILESYSTEM
     * @param size   the filesystem's size (statvfs blocks) or the PV's size; 0 when not known
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Content(Kind kind, String fsType, long size) {
        public static final Content UNKNOWN = new Content(Kind.UNKNOWN, null, 0);
        public static final Content SWAP = new Content(Kind.SWAP, null, 0);
        public static final Content EXTENDED = new Content(Kind.EXTENDED, null, 0);

        public static Content filesystem(String type, long size) {
            return new Content(Kind.FILESYSTEM, type, size);
        }

        public static Content physicalVolume(long size) {
            return new Content(Kind.PHYSICAL_VOLUME, null, size);
        }

        String describe() {
            return switch (kind) {
                case FILESYSTEM -> fsType + " filesystem";
                case PHYSICAL_VOLUME -> "LVM PV";
                case SWAP -> "swap";
                case EXTENDED -> "extended partition";
                case UNKNOWN -> "unknown content";
            };
        }
    }

    /**
     * One partition of the source disk (bytes for start/end/size, like part_list).
     * mbrId only on MBR; gptType, gptGuid, gptAttributes and name only on GPT.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Part(String device, int number, long start, long end, long size, boolean bootable,
                       Integer mbrId, String gptType, String gptGuid, Long gptAttributes, String name,
                       Content content) {
    }

    /** One LV of the source disk, e.g. /dev/vg/root. */
    public record LogicalVolume(String device, Content content) {
    }

    public boolean isGpt() {
        return "gpt".equals(partitionTable);
    }
}
