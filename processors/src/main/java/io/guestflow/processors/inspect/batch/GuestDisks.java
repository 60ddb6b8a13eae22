package io.guestflow.processors.inspect.batch;

import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where one guest's disks sit in a shared appliance: disks
 * {@code offset .. offset+count-1} of the appliance, which names them
 * {@code /dev/sda, /dev/sdb, …} in the order they were added. Maps the
 * appliance's device names back to the names the guest gets when it is
 * inspected alone (its first disk is then {@code /dev/sda}).
 *
 * @param offset    index of the guest's first disk in the appliance
 * @param count     how many disks the guest has
 * @param volumeGroups the LVM volume groups found on the guest's disks alone
 */
public record GuestDisks(int offset, int count, Set<String> volumeGroups) {
    /** An appliance block device, a partition of one, or one inside a longer name (btrfsvol:/dev/sdb2/@). */
    private static final Pattern SD = Pattern.compile("/dev/sd([a-z]+)(?![a-z])");
    private static final Pattern LV = Pattern.compile("^/dev/([^/]+)/([^/]+)$");

    /** {@code 0 → a}, {@code 25 → z}, {@code 26 → aa}: the kernel's disk naming. */
    public static String letters(int index) {
        StringBuilder s = new StringBuilder();
        for (int i = index + 1; i > 0; i = (i - 1) / 26) {
            s.insert(0, (char) ('a' + (i - 1) % 26));
        }
        return s.toString();
    }

    /** The inverse of {@link #letters(int)}. */
    public static int index(String letters) {
        int n = 0;
        for (char c : letters.toCharArray()) {
            n = n * 26 + (c - 'a' + 1);
        }
        return n - 1;
    }

    /** Appliance disk index of a device name such as {@code /dev/sdc2}; -1 when it names no appliance disk. */
    public static int diskIndex(String device) {
        Matcher m = SD.matcher(device);
        return m.find() ? index(m.group(1)) : -1;
    }

    public boolean ownsDisk(int applianceIndex) {
        return applianceIndex >= offset && applianceIndex < offset + count;
    }

    /**
     * Whether {@code device} (a canonical name: a disk, partition, LV or a
     * name containing one) is on this guest's disks.
     */
    public boolean owns(String device) {
        Matcher m = SD.matcher(device);
        boolean any = false;
        while (m.find()) {
            any = true;
            if (!ownsDisk(index(m.group(1)))) {
                return false;
            }
        }
        if (any) {
            return true;
        }
        Matcher lv = LV.matcher(device);
        return lv.matches() && volumeGroups.contains(lv.group(1));
    }

    /** The name {@code device} has when the guest is alone: its disks renamed from {@code /dev/sda} on. */
    public String aloneName(String device) {
        if (offset == 0) {
            return device;
        }
        Matcher m = SD.matcher(device);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            int i = index(m.group(1));
            String renamed = ownsDisk(i) ? "/dev/sd" + letters(i - offset) : m.group();
            m.appendReplacement(out, Matcher.quoteReplacement(renamed));
        }
        m.appendTail(out);
        return out.toString();
    }
}
