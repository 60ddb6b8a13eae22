package io.guestflow.processors.inspect.batch;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Decides which guests of a shared appliance might be answered differently
 * than alone, so they are inspected alone instead. Inspection resolves a
 * guest's fstab against every disk of the appliance: a UUID or LABEL another
 * guest also has, an LVM name another guest also uses, or a {@code /dev/sda1}
 * that is another guest's disk in the shared appliance would change the
 * answer, unless the batch maps that identity back to the guest's own device
 * ({@link GuestFacts#mappedBack()}). Conservative: a device name it cannot
 * prove harmless counts as a collision.
 */
public final class CollisionDetector {
    private static final Pattern XDEV = Pattern.compile("^/dev/(?:h|s|v|xv)d([a-z]+)(\\d*)$");
    private static final Pattern BY = Pattern.compile("^/dev/disk/by-(uuid|label|partuuid|partlabel)/(.+)$");
    private static final Pattern TAGGED = Pattern.compile("^(UUID|LABEL|PARTUUID|PARTLABEL)=\"?([^\"]*)\"?$");
    private static final Pattern MAPPER = Pattern.compile("^/dev/mapper/(.+)$");
    private static final Pattern LV_PATH = Pattern.compile("^/dev/([^/]+)/([^/]+)$");
    /** /dev names that are never a disk of the appliance, so they resolve the same everywhere. */
    private static final Pattern NOT_A_DISK = Pattern.compile(
            "^/dev/(cdrom\\d*|dvd\\d*|fd\\d+|floppy|sr\\d+|scd\\d+|shm|pts|hugepages|mqueue)$");

    private CollisionDetector() {
    }

    /**
     * @param guests the batch, in appliance order
     * @return for each guest that must be inspected alone (by position), why
     */
    public static Map<Integer, String> mustRunAlone(List<GuestFacts> guests) {
        Map<String, Integer> holders = new HashMap<>();
        for (GuestFacts g : guests) {
            for (String id : g.identities()) {
                holders.merge(id, 1, Integer::sum);
            }
        }
        int totalDisks = guests.stream().mapToInt(g -> g.disks().count()).sum();
        Map<Integer, String> alone = new LinkedHashMap<>();
        for (int i = 0; i < guests.size(); i++) {
            GuestFacts g = guests.get(i);
            String why = g.aloneBecause().isEmpty() ? null : g.aloneBecause().get(0);
            if (why == null) {
                why = g.identities().stream().sorted()
                        .filter(id -> holders.get(id) > 1 && !g.mappedBack().contains(id)).findFirst()
                        .map(id -> describe(id) + " is also on another guest of the batch").orElse(null);
            }
            if (why == null) {
                for (String spec : g.fstabSpecs()) {
                    why = fstabConflict(g, guests, totalDisks, spec);
                    if (why != null) {
                        break;
                    }
                }
            }
            if (why != null) {
                alone.put(i, why);
            }
        }
        return alone;
    }

    /** Why {@code spec} (an fstab device field of {@code self}) may resolve differently in the batch; null if it cannot. */
    static String fstabConflict(GuestFacts self, List<GuestFacts> all, int totalDisks, String spec) {
        String id = identityOf(spec);
        if (id != null) {
            if (self.identities().contains(id)) {
                return null;
            }
            return all.stream().anyMatch(o -> o != self && o.identities().contains(id))
                    ? "fstab names " + spec + ", which is on another guest of the batch" : null;
        }
        if (!spec.startsWith("/dev/") || NOT_A_DISK.matcher(spec).matches()) {
            return null; // proc, tmpfs, nfs shares, cdroms: nothing on the appliance's disks
        }
        Matcher x = XDEV.matcher(spec);
        if (x.matches()) {
            // libguestfs resolves /dev/sdX, /dev/vdX… by index among all the appliance's disks
            int disk = GuestDisks.index(x.group(1));
            boolean sameAsAlone = (self.disks().offset() == 0 && disk < self.disks().count()) || disk >= totalDisks;
            return sameAsAlone ? null : "fstab names " + spec + ", which is another guest's disk in a shared appliance";
        }
        if (spec.startsWith("/dev/md")) {
            return "fstab names " + spec + ": software RAID devices are numbered by the appliance";
        }
        String vg = volumeGroupOf(spec);
        if (vg != null) {
            if (self.disks().volumeGroups().contains(vg)) {
                return null;
            }
            boolean elsewhere = all.stream().anyMatch(o -> o != self && o.disks().volumeGroups().contains(vg));
            return elsewhere ? "fstab names " + spec + ", a volume group of another guest of the batch" : null;
        }
        return "fstab names " + spec + ", which a shared appliance might resolve differently";
    }

    /** The identity an fstab spec looks up (UUID=…, LABEL=…, /dev/disk/by-uuid/…); null for device paths. */
    static String identityOf(String spec) {
        Matcher t = TAGGED.matcher(spec);
        Matcher b = BY.matcher(spec);
        String kind;
        String value;
        if (t.matches()) {
            kind = t.group(1).toLowerCase(java.util.Locale.ROOT);
            value = t.group(2);
        } else if (b.matches()) {
            kind = b.group(1);
            value = b.group(2);
        } else {
            return null;
        }
        return switch (kind) {
            case "uuid" -> GuestFacts.uuid(value);
            case "label" -> GuestFacts.label(value);
            case "partuuid" -> GuestFacts.partUuid(value);
            default -> GuestFacts.partLabel(value);
        };
    }

    /** The VG of /dev/VG/LV or /dev/mapper/VG-LV (dashes in names doubled); null otherwise. */
    static String volumeGroupOf(String spec) {
        Matcher m = MAPPER.matcher(spec);
        if (m.matches()) {
            String name = m.group(1);
            for (int i = 1; i < name.length() - 1; i++) {
                if (name.charAt(i) == '-') {
                    if (name.charAt(i + 1) == '-') {
                        i++; // an escaped dash inside the VG name
                        continue;
                    }
                    return name.substring(0, i).replace("--", "-");
                }
            }
            return null;
        }
        Matcher lv = LV_PATH.matcher(spec);
        if (lv.matches() && !lv.group(1).equals("disk") && !lv.group(1).equals("mapper")) {
            return lv.group(1);
        }
        return null;
    }

    private static String describe(String id) {
        int colon = id.indexOf(':');
        String kind = switch (id.substring(0, colon)) {
            case "uuid" -> "filesystem UUID";
            case "label" -> "filesystem label";
            case "partuuid" -> "partition UUID";
            case "partlabel" -> "partition label";
            case "pv" -> "LVM physical volume UUID";
            default -> "LVM volume group name";
        };
        return kind + " " + id.substring(colon + 1);
    }
}
