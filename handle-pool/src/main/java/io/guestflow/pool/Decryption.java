package io.guestflow.pool;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens a launched appliance's LUKS containers with a job's keys, before an
 * operation looks at the guest, as the virt tools' {@code --key} does
 * (libguestfs-common {@code inspect_do_decrypt}, as guestfs-tools 1.48.2
 * runs it, checked on its {@code -x} trace):
 * <ol>
 *   <li>every partition whose {@code vfs_type} is {@code crypto_LUKS} is
 *   opened with {@code cryptsetup_open} as {@code /dev/mapper/luks-<LUKS UUID>},
 *   trying in turn each key that {@link LuksKey#appliesTo applies to} it
 *   (device name, LUKS UUID or {@code all}, in the order given);</li>
 *   <li>if any was opened, LVM is rescanned and activated ({@code lvm_scan}),
 *   so volume groups inside the containers appear;</li>
 *   <li>every logical volume that is a LUKS container is opened the same
 *   way (LUKS on LVM).</li>
 * </ol>
 * So devices and mountpoints in results name the mapped devices exactly as
 * virt-inspector's XML does ({@code /dev/mapper/luks-…}, or an LV of a volume
 * group that was inside a container).
 *
 * <p>Where the virt tools differ, for a service:
 * <ul>
 *   <li>A container that no key applies to is <b>left closed</b> (the virt
 *   tools prompt on the terminal, or fail): the operation then sees it as an
 *   encrypted container, as it would without any key (inspection misses what
 *   is inside; sparsify refuses it unless it is ignored).</li>
 *   <li>A container that keys apply to but none opens fails the job with
 *   {@link ErrorCode#WRONG_KEY} (not retryable), naming the device and its
 *   LUKS UUID, never a key; libguestfs's own message is kept only with every
 *   passphrase masked.</li>
 * </ul>
 * Passphrases go to the appliance only as {@code cryptsetup_open}'s key
 * argument, which libguestfs's trace prints as {@code "***"} and the daemon
 * writes to a temporary key file rather than a command line.
 */
public final class Decryption {
    private static final Logger LOG = LoggerFactory.getLogger(Decryption.class);
    private static final String LUKS = "crypto_LUKS";
    private static final java.util.regex.Pattern UUID_SHAPE = java.util.regex.Pattern.compile("[0-9A-Fa-f-]{1,64}");

    private Decryption() {
    }

    /**
     * What {@link #open} did: the containers it opened (device → mapped device) and those no key applied to,
     * which stay closed.
     */
    public record Opened(List<Mapping> opened, List<String> leftClosed) {
        public static final Opened NOTHING = new Opened(List.of(), List.of());
    }

    /** A container opened as {@code mapped} ({@code /dev/mapper/luks-<uuid>}). */
    public record Mapping(String device, String uuid, String mapped) {
    }

    /** Opens every encrypted container {@code keys} apply to; nothing when {@code keys} is empty. */
    public static Opened open(ApplianceHandle handle, List<LuksKey> keys) {
        if (keys.isEmpty()) {
            return Opened.NOTHING;
        }
        GuestFS g = handle.gfs();
        List<Mapping> opened = new ArrayList<>();
        List<String> closed = new ArrayList<>();
        try {
            openAll(g, List.of(g.list_partitions()), keys, opened, closed);
            if (!opened.isEmpty()) {
                g.lvm_scan(true);
            }
            openAll(g, List.of(g.lvs()), keys, opened, closed);
        } catch (LibGuestFSException e) {
            throw handle.translate(new LibGuestFSException(masked(e.getMessage(), keys)));
        }
        if (!closed.isEmpty()) {
            LOG.info("encrypted containers left closed, no key applies to them: {}", closed);
        }
        return new Opened(List.copyOf(opened), List.copyOf(closed));
    }

    private static void openAll(GuestFS g, List<String> devices, List<LuksKey> keys, List<Mapping> opened,
                                List<String> closed) throws LibGuestFSException {
        for (String dev : devices) {
            String type;
            try {
                type = g.vfs_type(dev);
            } catch (LibGuestFSException noSignature) {
                continue;
            }
            if (!LUKS.equals(type)) {
                continue;
            }
            String uuid = g.luks_uuid(dev);
            List<LuksKey> applying = keys.stream().filter(k -> k.appliesTo(dev, uuid)).toList();
            if (applying.isEmpty()) {
                closed.add(dev);
                continue;
            }
            String map = mapName(dev, uuid);
            if (isOpen(g, map)) {
                opened.add(new Mapping(dev, uuid, "/dev/mapper/" + map));
                continue;
            }
            String lastError = null;
            boolean done = false;
            for (LuksKey key : applying) {
                try {
                    g.cryptsetup_open(dev, key.passphrase(), map);
                    done = true;
                    break;
                } catch (LibGuestFSException wrong) {
                    lastError = masked(wrong.getMessage(), keys);
                }
            }
            if (!done) {
                throw new GuestflowException(ErrorCode.WRONG_KEY, "none of the " + applying.size()
                        + " key(s) given for LUKS container " + dev + " (UUID " + uuid + ") opens it: " + lastError);
            }
            opened.add(new Mapping(dev, uuid, "/dev/mapper/" + map));
        }
    }

    /** Whether LUKS container {@code device} (LUKS UUID {@code uuid}) is open under the virt tools' map name. */
    public static boolean isOpen(GuestFS g, String device, String uuid) throws LibGuestFSException {
        return isOpen(g, mapName(device, uuid));
    }

    /** {@code list_dm_devices}: the mappings, LVs left out (is_blockdev would look under the guest's root). */
    private static boolean isOpen(GuestFS g, String map) throws LibGuestFSException {
        return List.of(g.list_dm_devices()).contains("/dev/mapper/" + map);
    }

    /**
     * The virt tools' map name: {@code luks-<LUKS UUID>}, or (no UUID, or one that is not hex digits and
     * dashes) {@code luks} followed by the letters and digits of the device name, e.g.
     * {@code /dev/sda2 -> lukssda2}.
     */
    public static String mapName(String device, String uuid) {
        // the UUID is the guest's text: only a UUID-shaped one names a device node, anything else (slashes,
        // spaces, a header crafted to name another mapping) falls back to the device's name
        if (uuid != null && UUID_SHAPE.matcher(uuid.strip()).matches()) {
            return "luks-" + uuid.strip();
        }
        String d = device.startsWith("/dev/") ? device.substring(5) : device;
        StringBuilder out = new StringBuilder("luks");
        d.chars().filter(Character::isLetterOrDigit).filter(c -> c < 128).forEach(out::appendCodePoint);
        return out.toString();
    }

    /** {@code text} with every passphrase of {@code keys} masked (a libguestfs message should hold none). */
    static String masked(String text, List<LuksKey> keys) {
        String s = String.valueOf(text).strip();
        for (LuksKey k : keys) {
            if (!k.passphrase().isEmpty()) {
                s = s.replace(k.passphrase(), Secrets.MASK);
            }
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
