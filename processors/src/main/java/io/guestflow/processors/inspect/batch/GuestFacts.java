package io.guestflow.processors.inspect.batch;

import java.util.List;
import java.util.Set;

/**
 * What the shared appliance shows of one guest before it is inspected: the
 * identities other guests could collide with, the device names its fstab
 * resolves, and anything that rules batching out for it.
 *
 * @param disks       where its disks sit in the appliance, and its volume groups
 * @param identities  {@code uuid:…}, {@code label:…}, {@code partuuid:…}, {@code partlabel:…} of its
 *                    partitions, disks and LVs; {@code pv:…} of its LVM physical volumes; {@code vg:…} of its VGs
 * @param fstabSpecs  the first field of every /etc/fstab line of each of its roots
 * @param aloneBecause reasons found while collecting (software RAID, Windows, an LVM PV of no known VG)
 * @param mappedBack  identities this guest may share with others because the batch maps them back: a copy of
 *                    a plain filesystem (ext2/3/4, swap) its fstab names by {@code UUID=}/{@code LABEL=} only,
 *                    or not at all, so that another guest's copy resolved in its place is replaced by its own
 */
public record GuestFacts(GuestDisks disks, Set<String> identities, List<String> fstabSpecs, List<String> aloneBecause,
                         Set<String> mappedBack) {

    public GuestFacts(GuestDisks disks, Set<String> identities, List<String> fstabSpecs, List<String> aloneBecause) {
        this(disks, identities, fstabSpecs, aloneBecause, Set.of());
    }

    public static String uuid(String v) {
        return "uuid:" + v.toLowerCase(java.util.Locale.ROOT);
    }

    public static String label(String v) {
        return "label:" + v;
    }

    public static String partUuid(String v) {
        return "partuuid:" + v.toLowerCase(java.util.Locale.ROOT);
    }

    public static String partLabel(String v) {
        return "partlabel:" + v;
    }

    /** LVM prints PV UUIDs with dashes, libguestfs without; compare them without. */
    public static String pv(String v) {
        return "pv:" + v.replace("-", "").toLowerCase(java.util.Locale.ROOT);
    }

    public static String vg(String name) {
        return "vg:" + name;
    }
}
