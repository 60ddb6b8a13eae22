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
import java.util.Arrays;
import java.util.Collections;
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
 *
 * <p>Clones share the appliance too. Guests whose LVM physical volumes are
 * copies of each other's are answered in separate passes, each an
 * {@code inspect_os} with LVM filtered to the disks of the guests it answers
 * ({@code lvm_set_filter}), so that LVM never sees two copies of one volume
 * group. A plain filesystem (ext2/3/4, swap) whose UUID or label another
 * guest's copy also carries is harmless when the guest's fstab names it by
 * {@code UUID=}/{@code LABEL=} and the guest holds one copy: findfs may
 * resolve it to the other guest's copy, and the batch maps that device back to
 * the guest's own before reading or mounting it. A /usr resolved to another
 * guest's copy sends the guest alone: inspect_os merged its facts already.
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

    /** Filesystems whose UUID and label only name them: the kernel keeps no table of them (unlike btrfs, XFS). */
    private static final Set<String> PLAIN_TYPES = Set.of("ext2", "ext3", "ext4", "swap");

    private final GuestFS g;
    private final List<Guest> guests;
    private final List<GuestDisks> disks = new ArrayList<>();
    /** Identities on each guest's disks and partitions, which every pass sees; its PVs apart. */
    private final List<Set<String>> blockIds = new ArrayList<>();
    private final List<Set<String>> pvIds = new ArrayList<>();
    /** The pass's VG names and LV filesystem identities of each guest LVM sees in it. */
    private final List<Set<String>> lvmIds = new ArrayList<>();
    private final List<List<AloneReason>> aloneBecause = new ArrayList<>();
    private final List<Set<String>> volumeGroups = new ArrayList<>();
    /** The identities and blkid type of each disk and partition, and of the pass's LVs. */
    private final Map<String, Set<String>> deviceIds = new HashMap<>();
    private final Map<String, String> deviceTypes = new HashMap<>();
    private final Set<String> passLvs = new HashSet<>();

    private BatchInspection(GuestFS g, List<Guest> guests) {
        this.g = g;
        this.guests = guests;
        for (int i = 0; i < guests.size(); i++) {
            blockIds.add(new HashSet<>());
            pvIds.add(new HashSet<>());
            lvmIds.add(new HashSet<>());
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
        blockDeviceIdentities(devices);
        int[] pass = passes();
        int passes = Arrays.stream(pass).max().orElse(0) + 1;
        try {
            for (int p = 0; p < passes; p++) {
                List<Integer> answered = new ArrayList<>();
                for (int i = 0; i < guests.size(); i++) {
                    if (pass[i] == p) {
                        answered.add(i);
                    }
                }
                runPass(p, passes, answered, devices, listener);
            }
        } finally {
            if (passes > 1) {
                try {
                    g.umount_all();
                    g.lvm_clear_filter();
                } catch (LibGuestFSException e) {
                    LOG.debug("lvm_clear_filter: {}", e.getMessage());
                }
            }
        }
    }

    /**
     * Which pass answers each guest. Guests whose LVM physical volumes are
     * copies of each other's (cloned images) cannot be told apart by LVM in one
     * scan, so each pass shows LVM only the disks of guests that share no PV,
     * and runs its own {@code inspect_os}; everything else is answered by the first.
     */
    private int[] passes() {
        int[] pass = new int[guests.size()];
        for (int i = 0; i < guests.size(); i++) {
            if (!aloneBecause.get(i).isEmpty() || pvIds.get(i).isEmpty()) {
                continue;
            }
            Set<Integer> taken = new HashSet<>();
            for (int j = 0; j < i; j++) {
                if (aloneBecause.get(j).isEmpty() && !Collections.disjoint(pvIds.get(i), pvIds.get(j))) {
                    taken.add(pass[j]);
                }
            }
            while (taken.contains(pass[i])) {
                pass[i]++;
            }
        }
        return pass;
    }

    /** One {@code inspect_os} with LVM restricted to the disks of {@code answered}, which it answers. */
    private void runPass(int p, int passes, List<Integer> answered, String[] devices, Listener listener)
            throws LibGuestFSException {
        long t0 = System.nanoTime();
        if (passes > 1) {
            List<String> visible = new ArrayList<>();
            for (int i : answered) {
                GuestDisks d = disks.get(i);
                visible.addAll(Arrays.asList(devices).subList(d.offset(), d.offset() + d.count()));
            }
            g.umount_all();
            g.lvm_set_filter(visible.toArray(String[]::new));
        }
        volumeGroupIdentities(answered);
        long t1 = System.nanoTime();
        String[] roots = g.inspect_os();
        long t2 = System.nanoTime();

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
                for (int i : answered) {
                    listener.outcome(i, new RunAlone(why));
                }
                return;
            }
            rootsOf.computeIfAbsent(owner, k -> new ArrayList<>()).add(root);
        }
        List<GuestFacts> facts = new ArrayList<>();

        for (int i = 0; i < guests.size(); i++) {
            boolean here = answered.contains(i);
            List<String> fstab = new ArrayList<>();
            if (here && aloneBecause.get(i).isEmpty()) {
                for (String root : rootsOf.getOrDefault(i, List.of())) {
                    fstab.addAll(fstabSpecs(root));
                }
            }
            Set<String> ids = new HashSet<>(blockIds.get(i));
            if (here) {
                ids.addAll(pvIds.get(i));
                ids.addAll(lvmIds.get(i));
            }
            facts.add(new GuestFacts(disks.get(i), ids, fstab,
                    aloneBecause.get(i).stream().map(AloneReason::text).toList(),
                    here ? mappedBack(i, ids, fstab) : Set.of()));
        }
        Map<Integer, String> alone = CollisionDetector.mustRunAlone(facts);
        long t3 = System.nanoTime();

        int inspected = 0;
        for (int i : answered) {
            if (alone.containsKey(i)) {
                LOG.info("batched inspection: guest {} of {} is inspected alone: {}", i + 1, guests.size(), alone.get(i));
                listener.outcome(i, new RunAlone(alone.get(i)));
                continue;
            }
            Outcome outcome = inspect(i, rootsOf.getOrDefault(i, List.of()), facts.get(i));
            inspected += outcome instanceof Inspected ? 1 : 0;
            listener.outcome(i, outcome);
        }
        LOG.info("batched inspection: pass {} of {} ({} of {} guests, {} answered here): LVM scan {} ms, inspect_os {} ms,"
                        + " identities and fstabs {} ms, per-guest facts {} ms", p + 1, passes, answered.size(),
                guests.size(), inspected, ms(t0, t1), ms(t1, t2), ms(t2, t3), ms(t3, System.nanoTime()));
    }

    private static long ms(long from, long to) {
        return (to - from) / 1_000_000;
    }

    /**
     * The identities guest {@code i} may share with other guests of the pass
     * because a device inspection resolves through one of them can be mapped
     * back to the guest's own copy: every device holding it is a plain
     * filesystem, and the guest's fstab names it not at all, or only as
     * {@code UUID=}/{@code LABEL=} (resolved by findfs, to any holder) of
     * which the guest holds exactly one.
     */
    private Set<String> mappedBack(int i, Set<String> ids, List<String> specs) {
        Set<String> out = new HashSet<>();
        for (String id : ids) {
            boolean filesystem = id.startsWith("uuid:") || id.startsWith("label:");
            boolean partition = id.startsWith("partuuid:") || id.startsWith("partlabel:");
            if (!filesystem && !partition) {
                continue; // LVM names and PVs: the passes keep them apart
            }
            List<String> named = specs.stream().filter(s -> id.equals(CollisionDetector.identityOf(s))).toList();
            if (partition) {
                if (named.isEmpty()) {
                    out.add(id);
                }
                continue;
            }
            List<String> holders = holdersOf(id);
            boolean plain = holders.stream().allMatch(d -> PLAIN_TYPES.contains(deviceTypes.get(d)));
            boolean tagged = named.stream().allMatch(s -> s.startsWith("UUID=") || s.startsWith("LABEL="));
            long own = holders.stream().filter(d -> ownerOf(d) == i).count();
            if (plain && tagged && (named.isEmpty() || own == 1)) {
                out.add(id);
            }
        }
        return out;
    }

    /** The visible devices (disks, partitions, this pass's LVs) that hold {@code id}. */
    private List<String> holdersOf(String id) {
        return deviceIds.entrySet().stream().filter(e -> e.getValue().contains(id)).map(Map.Entry::getKey)
                .sorted().toList();
    }

    /** One guest's report, its device names as alone; or why it must run alone after all. */
    private Outcome inspect(int guest, List<String> roots, GuestFacts facts) {
        GuestDisks own = disks.get(guest);
        UnaryOperator<String> asAlone = device -> {
            if (!own.owns(device)) {
                throw new ForeignDevice(device);
            }
            return own.aloneName(device);
        };
        // UUID=/LABEL= of a copy the guest shares with another: findfs may have answered the other's device
        Set<String> remappable = new HashSet<>();
        for (String spec : facts.fstabSpecs()) {
            String id = CollisionDetector.identityOf(spec);
            if (id != null && facts.mappedBack().contains(id) && holdersOf(id).size() > 1) {
                remappable.add(id);
            }
        }
        UnaryOperator<String> resolve = device -> {
            if (own.owns(device) || remappable.isEmpty()) {
                return device;
            }
            Set<String> candidates = new HashSet<>();
            for (String id : deviceIds.getOrDefault(device, Set.of())) {
                if (remappable.contains(id)) {
                    holdersOf(id).stream().filter(d -> ownerOf(d) == guest).forEach(candidates::add);
                }
            }
            return candidates.size() == 1 ? candidates.iterator().next() : device;
        };
        InspectOperation op = new InspectOperation(guests.get(guest).options());
        try {
            List<OperatingSystem> found = new ArrayList<>();
            for (String root : roots) {
                if (!remappable.isEmpty()) {
                    // inspect_os merged what it found on the /usr it resolved into the root's facts
                    String usr = g.inspect_get_mountpoints(root).get("/usr");
                    if (usr != null && !own.owns(g.canonical_device_name(usr))) {
                        return new RunAlone("its /usr resolved to " + usr + ", a copy on another guest of the batch");
                    }
                }
                found.add(op.inspectRoot(g, root, resolve, asAlone));
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
     */
    private void blockDeviceIdentities(String[] devices) throws LibGuestFSException {
        List<String> blockDevices = new ArrayList<>(List.of(devices));
        blockDevices.addAll(List.of(g.list_partitions()));
        for (String dev : blockDevices) {
            int owner = ownerOf(dev);
            if (owner < 0) {
                continue; // a partition of an assembled RAID array: its members already keep their guests alone
            }
            Map<String, String> tags = blkid(dev);
            String type = tags.getOrDefault("TYPE", "");
            Set<String> ids = new HashSet<>();
            switch (type) {
                case "LVM2_member" -> pvIds.get(owner).add(GuestFacts.pv(tags.getOrDefault("UUID", dev)));
                case "linux_raid_member" -> aloneBecause.get(owner).add(new AloneReason(AloneReason.Cause.SOFTWARE_RAID,
                        "software RAID member " + dev + ": arrays are numbered by the appliance"));
                case "ntfs" -> aloneBecause.get(owner).add(new AloneReason(AloneReason.Cause.NTFS, "NTFS on " + dev
                        + ": Windows drive letters are matched by disk signature across all disks"));
                default -> addFilesystemIdentities(ids, tags);
            }
            if (tags.containsKey("PART_ENTRY_UUID")) {
                ids.add(GuestFacts.partUuid(tags.get("PART_ENTRY_UUID")));
            }
            if (tags.containsKey("PART_ENTRY_NAME")) {
                ids.add(GuestFacts.partLabel(tags.get("PART_ENTRY_NAME")));
            }
            blockIds.get(owner).addAll(ids);
            deviceIds.put(dev, ids);
            deviceTypes.put(dev, type);
        }
    }

    /**
     * Each uniquely named volume group LVM sees in this pass goes to the guest
     * of {@code answered} holding its PVs; its LVs' UUIDs and labels join that
     * guest's identities. A PV whose VG cannot be told apart (two VGs of one
     * name) keeps its guest out of the batch.
     */
    private void volumeGroupIdentities(List<Integer> answered) throws LibGuestFSException {
        volumeGroups.forEach(Set::clear);
        lvmIds.forEach(Set::clear);
        aloneBecause.forEach(r -> r.removeIf(a -> a.cause() == AloneReason.Cause.UNATTRIBUTED_PV));
        passLvs.forEach(deviceIds::remove);
        passLvs.forEach(deviceTypes::remove);
        passLvs.clear();
        Map<String, Integer> pvOwners = new HashMap<>();
        for (int i : answered) {
            pvIds.get(i).forEach(pv -> pvOwners.put(pv, i));
        }
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
                lvmIds.get(owner).add(GuestFacts.vg(name));
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
                Map<String, String> tags = blkid(lv);
                Set<String> ids = new HashSet<>();
                addFilesystemIdentities(ids, tags);
                lvmIds.get(owner).addAll(ids);
                deviceIds.put(lv, ids);
                deviceTypes.put(lv, tags.getOrDefault("TYPE", ""));
                passLvs.add(lv);
            }
        }
    }

    private static void addFilesystemIdentities(Set<String> ids, Map<String, String> tags) {
        if (tags.containsKey("UUID")) {
            ids.add(GuestFacts.uuid(tags.get("UUID")));
        }
        if (tags.containsKey("LABEL")) {
            ids.add(GuestFacts.label(tags.get("LABEL")));
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
