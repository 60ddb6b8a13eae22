package io.guestflow.processors.inspect.batch;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import com.redhat.et.libguestfs.PV;
import com.redhat.et.libguestfs.VG;
import io.guestflow.processors.inspect.InspectOperation;
import io.guestflow.processors.inspect.InspectOptions;
import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.processors.inspect.InspectionReport.OperatingSystem;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inspects several guests on one launched appliance, their disks attached
 * one guest after the other, and answers for each guest exactly what
 * inspecting it alone answers — or says it must be inspected alone.
 *
 * <p>One pass over the appliance collects each guest's identities (blkid of
 * every disk, partition and LV; LVM names) and, after the shared
 * {@code inspect_os}, the device fields of each root's fstab; the
 * {@link CollisionDetector} names the guests whose answer could change.
 * The others are inspected with their device names mapped back to the names
 * they have alone ({@code /dev/sdc2} of the third guest is its
 * {@code /dev/sda2}); a result that still names a device of another guest,
 * or a call that fails in the shared appliance, also sends the guest to be
 * inspected alone. Guests are read-only throughout.
 */
public final class BatchInspection {
    private static final Logger LOG = LoggerFactory.getLogger(BatchInspection.class);

    /** One guest of the batch: how many disks it added (in order) and its inspect options. */
    public record Guest(int diskCount, InspectOptions options) {
    }

    /** What became of one guest. */
    public sealed interface Outcome permits Inspected, RunAlone {
    }

    /** Its report, equal to what inspecting it alone reports. */
    public record Inspected(InspectionReport report) implements Outcome {
    }

    /** It must be inspected on an appliance of its own, because of {@code reason}. */
    public record RunAlone(String reason) implements Outcome {
    }

    /** Why a guest is kept out of the batch, found while collecting; {@code text} is what it is told. */
    private record AloneReason(Cause cause, String text) {
        enum Cause { SOFTWARE_RAID, NTFS, UNATTRIBUTED_PV }
    }

    /** Told each guest's outcome as soon as it is known, once per guest. */
    @FunctionalInterface
    public interface Listener {
        void outcome(int guest, Outcome outcome);
    }

    private final GuestFS g;
    private final List<Guest> guests;
    private final List<GuestDisks> disks = new ArrayList<>();
    private final List<Set<String>> identities = new ArrayList<>();
    private final List<List<AloneReason>> aloneBecause = new ArrayList<>();
    private final List<Set<String>> volumeGroups = new ArrayList<>();

    private BatchInspection(GuestFS g, List<Guest> guests) {
        this.g = g;
        this.guests = guests;
        for (int i = 0; i < guests.size(); i++) {
            identities.add(new HashSet<>());
            aloneBecause.add(new ArrayList<>());
            volumeGroups.add(new HashSet<>());
        }
    }

    /**
     * Runs the batch on {@code g}, whose drives are the guests' disks in
     * order. Every guest gets exactly one outcome unless this throws (the
     * appliance failed before the guests were told apart): then the caller
     * inspects the guests without an outcome alone.
     */
    public static void run(GuestFS g, List<Guest> guests, Listener listener) throws LibGuestFSException {
        new BatchInspection(g, guests).run(listener);
    }

    private void run(Listener listener) throws LibGuestFSException {
        String[] devices = g.list_devices();
        int total = guests.stream().mapToInt(Guest::diskCount).sum();
        if (devices.length != total) {
            throw new IllegalStateException("the appliance has " + devices.length + " disks, the batch added " + total);
        }
        int offset = 0;
        for (Guest guest : guests) {
            disks.add(new GuestDisks(offset, guest.diskCount(), volumeGroups.get(disks.size())));
            offset += guest.diskCount();
        }
        Map<String, Integer> pvOwners = blockDeviceIdentities(devices);
        volumeGroupIdentities(pvOwners);

        String[] roots = g.inspect_os();
        Map<Integer, List<String>> rootsOf = new LinkedHashMap<>();
        for (String root : roots) {
            String canonical = g.canonical_device_name(root);
            int owner = ownerOf(canonical);
            if (owner < 0 && onUnattributedVolumeGroup(canonical)) {
                continue; // an LV of a VG no guest could claim: only guests already sent alone have such VGs
            }
            if (owner < 0) {
                // cannot say whose OS this is, so no guest's list of OSes can be trusted
                String why = "an operating system at " + root + " cannot be attributed to one guest of the batch";
                for (int i = 0; i < guests.size(); i++) {
                    listener.outcome(i, new RunAlone(why));
                }
                return;
            }
            rootsOf.computeIfAbsent(owner, k -> new ArrayList<>()).add(root);
        }
        List<GuestFacts> facts = new ArrayList<>();
        for (int i = 0; i < guests.size(); i++) {
            List<String> fstab = new ArrayList<>();
            if (aloneBecause.get(i).isEmpty()) {
                for (String root : rootsOf.getOrDefault(i, List.of())) {
                    fstab.addAll(fstabSpecs(root));
                }
            }
            facts.add(new GuestFacts(disks.get(i), identities.get(i), fstab,
                    aloneBecause.get(i).stream().map(AloneReason::text).toList()));
        }
        Map<Integer, String> alone = CollisionDetector.mustRunAlone(facts);

        for (int i = 0; i < guests.size(); i++) {
            if (alone.containsKey(i)) {
                LOG.info("batched inspection: guest {} of {} is inspected alone: {}", i + 1, guests.size(), alone.get(i));
                listener.outcome(i, new RunAlone(alone.get(i)));
                continue;
            }
            listener.outcome(i, inspect(i, rootsOf.getOrDefault(i, List.of())));
        }
    }

    /** One guest's report, its device names as alone; or why it must run alone after all. */
    private Outcome inspect(int guest, List<String> roots) {
        GuestDisks own = disks.get(guest);
        UnaryOperator<String> asAlone = device -> {
            if (!own.owns(device)) {
                throw new ForeignDevice(device);
            }
            return own.aloneName(device);
        };
        InspectOperation op = new InspectOperation(guests.get(guest).options());
        try {
            List<OperatingSystem> found = new ArrayList<>();
            for (String root : roots) {
                found.add(op.inspectRoot(g, root, asAlone));
            }
            return new Inspected(new InspectionReport(List.copyOf(found)));
        } catch (ForeignDevice e) {
            return new RunAlone("inspection resolved " + e.device + ", which is not one of this guest's devices");
        } catch (LibGuestFSException e) {
            // alone decides whether this is the guest's failure or the batch's
            return new RunAlone("inspection failed in the shared appliance: " + e.getMessage());
        }
    }

    /**
     * blkid of every disk and partition: UUIDs, labels, partition UUIDs and
     * names; LVM PVs, software RAID members and NTFS noted.
     *
     * @return the owner (guest position) of each LVM PV, by normalised PV UUID
     */
    private Map<String, Integer> blockDeviceIdentities(String[] devices) throws LibGuestFSException {
        List<String> blockDevices = new ArrayList<>(List.of(devices));
        blockDevices.addAll(List.of(g.list_partitions()));
        Map<String, Integer> pvOwners = new HashMap<>();
        for (String dev : blockDevices) {
            int owner = ownerOf(dev);
            if (owner < 0) {
                continue; // a partition of an assembled RAID array: its members already keep their guests alone
            }
            Map<String, String> tags = blkid(dev);
            String type = tags.getOrDefault("TYPE", "");
            switch (type) {
                case "LVM2_member" -> {
                    String pv = GuestFacts.pv(tags.getOrDefault("UUID", dev));
                    identities.get(owner).add(pv);
                    pvOwners.put(pv, owner);
                }
                case "linux_raid_member" -> aloneBecause.get(owner).add(new AloneReason(AloneReason.Cause.SOFTWARE_RAID,
                        "software RAID member " + dev + ": arrays are numbered by the appliance"));
                case "ntfs" -> aloneBecause.get(owner).add(new AloneReason(AloneReason.Cause.NTFS, "NTFS on " + dev
                        + ": Windows drive letters are matched by disk signature across all disks"));
                default -> addFilesystemIdentities(owner, tags);
            }
            if (tags.containsKey("PART_ENTRY_UUID")) {
                identities.get(owner).add(GuestFacts.partUuid(tags.get("PART_ENTRY_UUID")));
            }
            if (tags.containsKey("PART_ENTRY_NAME")) {
                identities.get(owner).add(GuestFacts.partLabel(tags.get("PART_ENTRY_NAME")));
            }
        }
        return pvOwners;
    }

    /**
     * Each uniquely named volume group goes to the guest holding its PVs; its
     * LVs' UUIDs and labels join that guest's identities. A PV whose VG cannot
     * be told apart (two VGs of one name, cloned PVs) keeps its guest out of the batch.
     */
    private void volumeGroupIdentities(Map<String, Integer> pvOwners) throws LibGuestFSException {
        Map<String, Integer> nameCount = new HashMap<>();
        for (VG vg : g.vgs_full()) {
            nameCount.merge(vg.vg_name, 1, Integer::sum);
        }
        Map<String, String> pvDevice = new HashMap<>();
        for (PV pv : g.pvs_full()) {
            pvDevice.put(GuestFacts.pv(pv.pv_uuid), pv.pv_name);
        }
        Set<String> attributedPvs = new HashSet<>();
        Map<String, Integer> vgOwner = new HashMap<>();
        for (Map.Entry<String, Integer> e : nameCount.entrySet()) {
            String name = e.getKey();
            if (e.getValue() > 1) {
                continue;
            }
            Set<Integer> owners = new HashSet<>();
            List<String> pvs = new ArrayList<>();
            for (String uuid : g.vgpvuuids(name)) {
                String pv = GuestFacts.pv(uuid);
                pvs.add(pv);
                owners.add(pvOwners.getOrDefault(pv, ownerOf(pvDevice.getOrDefault(pv, ""))));
            }
            if (owners.size() == 1 && !owners.contains(-1)) {
                int owner = owners.iterator().next();
                volumeGroups.get(owner).add(name);
                identities.get(owner).add(GuestFacts.vg(name));
                attributedPvs.addAll(pvs);
                vgOwner.put(name, owner);
            }
        }
        pvOwners.forEach((pv, owner) -> {
            if (!attributedPvs.contains(pv)) {
                aloneBecause.get(owner).add(new AloneReason(AloneReason.Cause.UNATTRIBUTED_PV, "LVM physical volume "
                        + pv.substring(3) + " belongs to a volume group that cannot be told apart from another guest's"));
            }
        });
        for (String lv : g.lvs()) {
            String[] parts = lv.split("/");
            Integer owner = parts.length == 4 ? vgOwner.get(parts[2]) : null;
            if (owner != null) {
                addFilesystemIdentities(owner, blkid(lv));
            }
        }
    }

    private void addFilesystemIdentities(int owner, Map<String, String> tags) {
        if (tags.containsKey("UUID")) {
            identities.get(owner).add(GuestFacts.uuid(tags.get("UUID")));
        }
        if (tags.containsKey("LABEL")) {
            identities.get(owner).add(GuestFacts.label(tags.get("LABEL")));
        }
    }

    private Map<String, String> blkid(String dev) {
        try {
            return g.blkid(dev);
        } catch (LibGuestFSException e) {
            return Map.of(); // nothing blkid recognises: no identity
        }
    }

    /** The guest (position) whose disk or volume group {@code device} is on; -1 for none. */
    private int ownerOf(String device) {
        for (int i = 0; i < disks.size(); i++) {
            if (disks.get(i).owns(device)) {
                return i;
            }
        }
        return -1;
    }

    private boolean onUnattributedVolumeGroup(String device) {
        String[] parts = device.split("/");
        return parts.length == 4 && parts[1].equals("dev") && volumeGroups.stream().noneMatch(v -> v.contains(parts[2]))
                && pvGuestsAlone();
    }

    private boolean pvGuestsAlone() {
        return aloneBecause.stream().anyMatch(r -> r.stream().anyMatch(a -> a.cause() == AloneReason.Cause.UNATTRIBUTED_PV));
    }

    /** The device field of every line of the root's /etc/fstab, read through a read-only mount. */
    private List<String> fstabSpecs(String root) {
        List<String> specs = new ArrayList<>();
        try {
            g.mount_ro(root, "/");
            if (g.is_file("/etc/fstab")) {
                for (String line : g.read_lines("/etc/fstab")) {
                    String t = line.strip();
                    if (!t.isEmpty() && !t.startsWith("#")) {
                        specs.add(t.split("\\s+")[0]);
                    }
                }
            }
        } catch (LibGuestFSException e) {
            LOG.debug("cannot read the fstab of {}: {}", root, e.getMessage());
        } finally {
            try {
                g.umount_all();
            } catch (LibGuestFSException e) {
                LOG.debug("umount_all: {}", e.getMessage());
            }
        }
        return specs;
    }

    /** Inspection resolved a device outside the guest. */
    private static final class ForeignDevice extends RuntimeException {
        final String device;

        ForeignDevice(String device) {
            super(device, null, false, false);
            this.device = device;
        }
    }
}
