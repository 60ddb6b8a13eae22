package io.guestflow.processors.sparsify;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What a sparsify job did: sizes of the input and of the result, and per
 * filesystem and volume group what was done to its free space.
 *
 * @param mode           {@code copy} or {@code in-place}
 * @param input          the input as it was before the job
 * @param output         copy mode: the new image; in place: the input after the job
 * @param reclaimedBytes input's allocated size minus output's
 * @param filesystems    one entry per filesystem (and swap) of the guest, in device order
 * @param volumeGroups   one entry per LVM volume group
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SparsifyReport(String mode, Image input, Image output, Long reclaimedBytes,
                             List<Filesystem> filesystems, List<VolumeGroup> volumeGroups) {

    /**
     * An image file's sizes.
     *
     * @param apparentSize  the file's length; null for a remote disk (only its server knows)
     * @param allocatedSize bytes the host has allocated for it; null for a remote disk
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Image(String path, String format, Boolean compressed, long virtualSize, Long apparentSize,
                        Long allocatedSize) {
    }

    /** What was done to one filesystem (or swap area or zeroed device). */
    public enum Action {
        /** free space discarded with fstrim: it reads as zeroes and takes no room in the result */
        TRIMMED,
        /** free space filled with zeroes (copy mode, where trim is not supported) */
        ZEROED_FREE_SPACE,
        /** swap contents discarded, its header page (signature, label, UUID) written back as it was */
        SWAP_RECREATED,
        /** the whole device zeroed or discarded (option {@code zero}) */
        DEVICE_ZEROED,
        /** listed in {@code ignore} */
        IGNORED,
        /** a read-only logical volume, read-only mount or read-only btrfs snapshot */
        SKIPPED_READ_ONLY,
        /** neither mountable nor a Linux swap area (unknown content, hibernated swap ...) */
        SKIPPED_NOT_MOUNTABLE,
        /** in place: the filesystem does not support trim; its free space is left as it is */
        TRIM_UNSUPPORTED,
        /** in place: the image holds nothing of this area that a discard would give back; left untouched */
        ALREADY_SPARSE,
        /**
         * a LUKS container opened with a job's key, or what it holds: encrypted on the disk, so nothing in it can
         * be given back (virt-sparsify(1): "encrypted disks themselves cannot be sparsified"); untouched
         */
        ENCRYPTED
    }

    /**
     * @param freeBytes      free space of the filesystem (or size of the device) that was discarded or zeroed
     * @param reclaimedBytes in place only: how much the host's allocation of the image shrank during this step
     * @param detail         why a fallback or skip happened
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Filesystem(String device, String type, Action action, Long freeBytes, Long reclaimedBytes,
                             String detail) {
    }

    /** The free extents of a volume group, discarded (or zeroed) through a temporary logical volume. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record VolumeGroup(String name, String action, Long freeBytes, Long reclaimedBytes) {
    }

    SparsifyReport withSizes(Image in, Image out) {
        Long reclaimed = in.allocatedSize() == null || out.allocatedSize() == null ? null
                : in.allocatedSize() - out.allocatedSize();
        return new SparsifyReport(mode, in, out, reclaimed, filesystems, volumeGroups);
    }
}
