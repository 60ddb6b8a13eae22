package io.guestflow.processors.resize;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.List;

/**
 * What a resize will do (or did): the source table, the target table with
 * sector positions, the content each resized partition or LV gets grown with.
 *
 * @param surplus        bytes of the output not claimed by partitions after the plan (virt-resize's "surplus")
 * @param alignedFirst   whether the first partition was moved to the alignment boundary
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ResizePlan(String partitionTable, int sectorSize, long inputSize, long outputSize, long alignment,
                         boolean alignedFirst, List<DiskLayout.Part> source, List<Target> target,
                         List<String> deleted, List<LvExpansion> lvExpansions, long surplus) {

    /** What happens to a source partition. */
    public enum Operation { COPY, RESIZE, IGNORE, EXTRA }

    /** How content is grown to fill its resized partition or LV; {@code label} is virt-resize's name for it. */
    public enum ExpandMethod {
        PVRESIZE("pvresize"),
        RESIZE2FS("resize2fs"),
        NTFSRESIZE("ntfsresize"),
        XFS_GROWFS("xfs_growfs"),
        BTRFS_FILESYSTEM_RESIZE("btrfs-filesystem-resize"),
        MKSWAP("mkswap");

        private final String label;

        ExpandMethod(String label) {
            this.label = label;
        }

        @JsonValue
        public String label() {
            return label;
        }
    }

    /**
     * One partition of the output, positions in sectors (inclusive end).
     *
     * @param source       the source partition (null for the extra partition)
     * @param copyBytes    bytes of content copied from the source
     * @param expandMethod how the content is grown after the copy (resize2fs, xfs_growfs, ...), null when it is not
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Target(int number, String source, Operation operation, long startSector, long endSector,
                         long size, boolean bootable, Integer mbrId, String gptType, String gptGuid,
                         Long gptAttributes, String name, DiskLayout.Content content, long copyBytes,
                         ExpandMethod expandMethod) {

        /** The device of this partition on a disk, e.g. {@code /dev/sdb2}. */
        public String on(String disk) {
            return disk + number;
        }
    }

    /** An LV grown to fill its VG; {@code expandMethod} null when its content cannot be grown. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record LvExpansion(String device, DiskLayout.Content content, ExpandMethod expandMethod) {
    }
}
