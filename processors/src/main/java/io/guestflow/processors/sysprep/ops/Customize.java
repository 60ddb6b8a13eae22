package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;
import io.guestflow.processors.sysprep.SysprepOptions;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.commons.codec.digest.Sha2Crypt;

/**
 * virt-sysprep's {@code customize}, runs last: a new random seed, a new
 * machine ID when the machine-id operation emptied it, then the job's
 * customizations (hostname, timezone, first-boot commands, SSH keys, root
 * password, SELinux relabel), in virt-customize's order.
 */
public final class Customize extends NamedOperation {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final List<String> SEED_FILES = List.of("/var/lib/random-seed", "/var/lib/systemd/random-seed",
            "/var/lib/urandom/random-seed", "/var/lib/misc/random-seed", "/etc/random-seed");

    public Customize() {
        super("customize", "Customize the guest", true);
    }

    @Override
    public int order() {
        return 99;
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        SysprepOptions o = ctx.options();
        if (o.randomSeed() && !randomSeed(ctx)) {
            ctx.note("warning: random seed could not be set for this type of guest");
        }
        newMachineId(ctx);
        if (o.hostname() != null && !hostname(ctx, o.hostname())) {
            ctx.note("warning: hostname could not be set for this type of guest");
        }
        if (o.timezone() != null) {
            timezone(ctx, o.timezone());
        }
        for (String cmd : o.firstbootCommands()) {
            if (!Firstboot.add(ctx, cmd)) {
                throw new IllegalStateException("first-boot commands need a Linux guest with systemd");
            }
        }
        for (SysprepOptions.SshKey key : o.sshInjectKeys()) {
            sshInject(ctx, key);
        }
        if (o.rootPassword() != null) {
            rootPassword(ctx, o.rootPassword());
        }
        if (o.selinuxRelabel()) {
            selinuxRelabel(ctx);
        }
    }

    /** New randomness in the guest's seed file, so clones do not start with the same entropy. */
    private static boolean randomSeed(SysprepContext ctx) throws Exception {
        if (!ctx.type().equals("linux")) {
            return false;
        }
        boolean done = false;
        for (String f : SEED_FILES) {
            if (ctx.g().is_file(f)) {
                int n = (int) Math.min(Math.max(ctx.g().filesize(f), 512), 8192);
                ctx.write(f, randomBytes(n)); // written in place: owner and mode stay
                done = true;
            }
        }
        if (done) {
            return true;
        }
        String file = switch (ctx.distro()) {
            case "fedora", "rhel", "centos", "scientificlinux", "oraclelinux", "rocky", "redhat-based" ->
                    "/var/lib/random-seed";
            case "debian", "ubuntu", "kalilinux" -> "/var/lib/urandom/random-seed";
            case "opensuse", "sles", "suse-based" -> "/var/lib/misc/random-seed";
            default -> null;
        };
        if (file == null || !ctx.g().is_dir(file.substring(0, file.lastIndexOf('/')))) {
            return false;
        }
        ctx.write(file, randomBytes(512));
        ctx.chown(0, 0, file);
        ctx.chmod(0600, file);
        return true;
    }

    private static void newMachineId(SysprepContext ctx) throws Exception {
        String f = "/etc/machine-id";
        if (ctx.isFile(f) && ctx.g().filesize(f) == 0) {
            ctx.write(f, HexFormat.of().formatHex(randomBytes(16)) + "\n");
        }
    }

    private static boolean hostname(SysprepContext ctx, String hostname) throws Exception {
        if (!ctx.type().equals("linux")) {
            return false;
        }
        boolean modernRedHat = (ctx.distro().equals("fedora") && ctx.majorVersion() >= 18)
                || (GuestScope.isRedHatFamily(ctx) && !ctx.distro().equals("fedora") && ctx.majorVersion() >= 7);
        if (modernRedHat) {
            ctx.write("/etc/hostname", hostname + "\n");
            replaceKey(ctx, "/etc/machine-info", "PRETTY_HOSTNAME", hostname);
            return true;
        }
        switch (ctx.distro()) {
            case "debian", "ubuntu", "kalilinux" -> {
                String old = ctx.g().is_file("/etc/hostname") && !ctx.readLines("/etc/hostname").isEmpty()
                        ? ctx.readLines("/etc/hostname").get(0) : null;
                ctx.write("/etc/hostname", hostname + "\n");
                replaceInHosts(ctx, old, hostname);
                return true;
            }
            case "opensuse", "sles", "suse-based" -> {
                ctx.write("/etc/HOSTNAME", hostname);
                return true;
            }
            default -> {
                if (GuestScope.isRedHatFamily(ctx)) {
                    replaceKey(ctx, "/etc/sysconfig/network", "HOSTNAME", hostname);
                    return true;
                }
                return false;
            }
        }
    }

    /** Sets KEY=value in a small shell-style file, replacing any earlier KEY= line. */
    private static void replaceKey(SysprepContext ctx, String file, String key, String value) throws Exception {
        List<String> lines = new ArrayList<>();
        if (ctx.g().is_file(file)) {
            ctx.readLines(file).stream().filter(l -> !l.startsWith(key + "=")).forEach(lines::add);
        }
        lines.add(key + "=" + value);
        ctx.write(file, String.join("\n", lines) + "\n");
    }

    /** The old name (and its short form) becomes the new one in /etc/hosts; addresses and comments stay. */
    private static void replaceInHosts(SysprepContext ctx, String old, String hostname) throws Exception {
        if (!ctx.g().is_file("/etc/hosts")) {
            return;
        }
        String shortNew = hostname.split("\\.", 2)[0];
        String shortOld = old == null ? null : old.split("\\.", 2)[0];
        StringBuilder out = new StringBuilder();
        String before = ctx.readText("/etc/hosts");
        for (String line : before.split("\n", -1)) {
            int hash = line.indexOf('#');
            String body = hash < 0 ? line : line.substring(0, hash);
            String comment = hash < 0 ? "" : line.substring(hash);
            String[] parts = body.split("(?<=\\s)|(?=\\s)");
            StringBuilder b = new StringBuilder();
            boolean first = true;
            for (String p : parts) {
                if (p.isBlank()) {
                    b.append(p);
                    continue;
                }
                if (first) { // the address
                    b.append(p);
                    first = false;
                } else if (p.equals(old)) {
                    b.append(hostname);
                } else if (p.equals(shortOld) || p.equals("unassigned-hostname")) {
                    b.append(shortNew);
                } else {
                    b.append(p);
                }
            }
            out.append(b).append(comment).append('\n');
        }
        String after = out.substring(0, out.length() - 1);
        if (!after.equals(before)) {
            ctx.write("/etc/hosts", after);
        }
    }

    private static void timezone(SysprepContext ctx, String tz) throws Exception {
        if (!ctx.type().equals("linux")) {
            ctx.note("warning: timezone could not be set for this type of guest");
            return;
        }
        String target = "/usr/share/zoneinfo/" + tz;
        if (!ctx.g().exists(target)) {
            throw new JobRejectedException(null, "timezone '" + tz + "' does not exist in the guest ("
                    + target + "); use a location like Europe/London");
        }
        ctx.symlink(target, "/etc/localtime");
    }

    private static final Pattern PASSWD_LINE = Pattern.compile("([^:]*):[^:]*:(\\d+):(\\d+):[^:]*:([^:]*):.*");

    private static void sshInject(SysprepContext ctx, SysprepOptions.SshKey key) throws Exception {
        int uid = -1;
        int gid = -1;
        String home = null;
        for (String line : ctx.readLines("/etc/passwd")) {
            var m = PASSWD_LINE.matcher(line);
            if (m.matches() && m.group(1).equals(key.user())) {
                uid = Integer.parseInt(m.group(2));
                gid = Integer.parseInt(m.group(3));
                home = m.group(4);
            }
        }
        if (home == null) {
            throw new JobRejectedException(null, "sshInjectKeys: the user " + key.user() + " does not exist in the guest");
        }
        String dir = home + "/.ssh";
        if (!ctx.g().is_dir(dir)) {
            ctx.mkdirP(dir);
            ctx.chown(uid, gid, dir);
            ctx.chmod(0700, dir);
        }
        String file = dir + "/authorized_keys";
        String existing = ctx.g().is_file(file) ? ctx.readText(file) : null;
        String line = key.key() + "\n";
        if (existing == null) {
            ctx.write(file, line);
            ctx.chown(uid, gid, file);
            ctx.chmod(0600, file);
        } else if (!existing.contains(key.key())) {
            String sep = existing.isEmpty() || existing.endsWith("\n") ? "" : "\n";
            ctx.write(file, existing + sep + line);
        }
    }

    /** SHA-512 crypt into root's shadow entry, rewritten in place so mode, owner and label stay. */
    private static void rootPassword(SysprepContext ctx, String password) throws Exception {
        if (!ctx.type().equals("linux")) {
            ctx.note("warning: passwords could not be set for this type of guest");
            return;
        }
        if (!ctx.isFile("/etc/shadow")) {
            throw new IllegalStateException("cannot set the root password: the guest has no /etc/shadow");
        }
        String before = ctx.readText("/etc/shadow");
        String hash = Sha2Crypt.sha512Crypt(password.getBytes(StandardCharsets.UTF_8), "$6$" + salt());
        StringBuilder out = new StringBuilder();
        boolean found = false;
        for (String line : before.split("\n", -1)) {
            if (line.startsWith("root:")) {
                String[] f = line.split(":", -1);
                f[1] = hash;
                line = String.join(":", f);
                found = true;
            }
            out.append(line).append('\n');
        }
        if (!found) {
            throw new IllegalStateException("/etc/shadow has no root entry");
        }
        ctx.write("/etc/shadow", out.substring(0, out.length() - 1));
    }

    private static String salt() {
        String chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./";
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            s.append(chars.charAt(RANDOM.nextInt(chars.length())));
        }
        return s.toString();
    }

    /** Guests that enforce or audit SELinux relabel at their next boot. */
    private static void selinuxRelabel(SysprepContext ctx) throws Exception {
        if (!ctx.g().is_file("/etc/selinux/config")) {
            ctx.note("selinuxRelabel: the guest has no /etc/selinux/config; nothing to relabel");
            return;
        }
        boolean disabled = ctx.readLines("/etc/selinux/config").stream()
                .anyMatch(l -> l.strip().equals("SELINUX=disabled"));
        if (disabled) {
            ctx.note("selinuxRelabel: SELinux is disabled in the guest; nothing to relabel");
            return;
        }
        ctx.touch("/.autorelabel");
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }
}
