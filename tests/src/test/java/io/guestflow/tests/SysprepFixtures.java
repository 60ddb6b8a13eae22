package io.guestflow.tests;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.pool.CachedBuild;
import io.guestflow.samples.SampleGuests;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Two guests carrying something for as many sysprep operations as practical,
 * built in one launch and cached under {@code fixtures/sysprep-v<RECIPE>}:
 * the Debian-on-LVM sample plus its clutter, and a RHEL 7 guest (ext4 on a
 * partition) for the Red Hat-only operations. {@code original.properties}
 * keeps the identity values sysprep must replace (machine id, random seeds,
 * LVM UUIDs). The Debian guest's root and /usr filesystems also hold
 * {@link #DELETED_BYTES} of deleted data, for the sparsify step of the
 * pipeline tests, which seal and shrink this guest.
 *
 * <p>No directory is left empty: virt-sysprep 1.48's backup-files fails with
 * "Visit.Failure" on empty directories, so the oracle could not run.
 */
public final class SysprepFixtures {
    /** Bump when the recipe below changes. */
    static final String RECIPE = "3";
    /** Written, synced and deleted on the Debian guest: allocated in the image, free in its filesystems. */
    static final long DELETED_BYTES = 48L << 20;
    public static final String DEBIAN = "sysprep-debian.qcow2";
    public static final String RHEL = "sysprep-rhel7.qcow2";
    static final String DEBIAN_MACHINE_ID = "0123456789abcdef0123456789abcdef\n"; // from SampleGuests
    static final String RHEL_MACHINE_ID = "fedcba9876543210fedcba9876543210\n";

    private static Path dir;

    private SysprepFixtures() {
    }

    public static synchronized Path dir() {
        if (dir != null) {
            return dir;
        }
        dir = CachedBuild.ensure(Fixtures.cacheRoot().resolve("fixtures").resolve("sysprep-v" + RECIPE + "-samples-v"
                + SampleGuests.RECIPE_VERSION), d -> Files.isRegularFile(d.resolve("original.properties")),
                SysprepFixtures::build);
        return dir;
    }

    public static Properties original() {
        Properties p = new Properties();
        try (var r = Files.newBufferedReader(dir().resolve("original.properties"))) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    private static void build(Path work) throws IOException {
        try {
            Files.copy(Fixtures.image(SampleGuests.Image.DEBIAN_LVM), work.resolve(DEBIAN));
            GuestFS creator = new GuestFS();
            try {
                creator.disk_create(work.resolve(RHEL).toString(), "qcow2", 256L * 1024 * 1024);
            } finally {
                creator.close();
            }
            Properties original = new Properties();
            try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
                 HandlePool.Lease lease = pool.lease("sysprep-fixture")) {
                ApplianceHandle h = lease.launch(List.of(new Drive(work.resolve(DEBIAN).toUri(), "qcow2", false, null),
                        new Drive(work.resolve(RHEL).toUri(), "qcow2", false, null)), GuestEventListener.NONE);
                GuestFS g = h.gfs();
                debian(g);
                rhel(g);
                original.setProperty("debian.machine-id", DEBIAN_MACHINE_ID.strip());
                original.setProperty("rhel.machine-id", RHEL_MACHINE_ID.strip());
                original.setProperty("debian.pvuuid", g.pvuuid("/dev/sda2"));
                original.setProperty("debian.vguuid", g.vguuid("vgdeb"));
                g.shutdown();
            }
            try (var w = Files.newBufferedWriter(work.resolve("original.properties"))) {
                original.store(w, "identity values of the fixtures before sysprep");
            }
        } catch (LibGuestFSException e) {
            throw new IllegalStateException("cannot build the sysprep fixtures: " + e.getMessage(), e);
        }
    }

    private static void debian(GuestFS g) throws LibGuestFSException {
        g.mount("/dev/vgdeb/root", "/");
        g.mount("/dev/sda1", "/boot");
        g.mount("/dev/vgdeb/usr", "/usr");
        users(g, "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n");
        files(g, Map.ofEntries(
                Map.entry("/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 web01.example.com web01\n"),
                Map.entry("/var/lib/dbus/machine-id", DEBIAN_MACHINE_ID),
                Map.entry("/etc/blkid.tab", "<device>/dev/sda1</device>\n"),
                Map.entry("/etc/krb5.keytab", "keytab"),
                Map.entry("/etc/ssh/ssh_host_ed25519_key", "PRIVATE"),
                Map.entry("/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA host\n"),
                Map.entry("/etc/ssh/sshd_config", "PermitRootLogin no\n"),
                Map.entry("/root/.ssh/authorized_keys", "ssh-ed25519 AAAA admin\n"),
                Map.entry("/home/alice/.ssh/id_ed25519", "PRIVATE"),
                Map.entry("/root/.bash_history", "ls\n"),
                Map.entry("/home/alice/.bash_history", "sudo -i\n"),
                Map.entry("/home/alice/notes.txt", "keep me\n"),
                Map.entry("/etc/udev/rules.d/70-persistent-net.rules", "SUBSYSTEM==\"net\", ATTR{address}==\"52:54:00:12:34:56\", NAME=\"eth0\"\n"),
                Map.entry("/etc/NetworkManager/system-connections/Wired.nmconnection", "[connection]\nid=Wired\n"),
                Map.entry("/var/lib/dhcp/dhclient.eth0.leases", "lease { }\n"),
                Map.entry("/var/log/syslog", "boot\n"),
                Map.entry("/var/log/syslog.1", "older\n"),
                Map.entry("/var/log/apt/history.log", "Start-Date: 2024\n"),
                Map.entry("/var/log/installer/syslog", "d-i\n"),
                Map.entry("/var/log/journal/0123456789abcdef0123456789abcdef/system.journal", "LPKSHHRH"),
                Map.entry("/var/log/kept.txt", "not a log glob\n"),
                Map.entry("/var/log/account/pacct", "acct"),
                Map.entry("/var/log/account/pacct.0", "acct0"),
                Map.entry("/var/lib/logrotate.status", "logrotate state\n"),
                Map.entry("/var/cache/apt/archives/bash_5.2_amd64.deb", "deb"),
                Map.entry("/var/cache/apt/archives/lock", ""),
                Map.entry("/var/cache/apt/pkgcache.bin", "kept: not in archives\n"),
                Map.entry("/var/spool/cron/crontabs/alice", "* * * * * true\n"),
                Map.entry("/var/spool/cron/atjobs/.SEQ", "00017\n"),
                Map.entry("/var/spool/cron/atjobs/a0001201a", "#!/bin/sh\n"),
                Map.entry("/var/mail/alice", "From: bob\n"),
                Map.entry("/tmp/session.tmp", "t"),
                Map.entry("/tmp/.X0-lock", "0"),
                Map.entry("/var/tmp/cache/blob.bin", "b"),
                Map.entry("/etc/passwd-", "old\n"),
                Map.entry("/etc/shadow-", "old\n"),
                Map.entry("/etc/nginx.conf~", "backup\n"),
                Map.entry("/srv/site.bak", "backup\n"),
                Map.entry("/usr/share/doc/kept.bak", "outside the backup-files trees\n"),
                Map.entry("/var/crash/202401010000/dump", "core"),
                Map.entry("/var/spool/abrt/ccpp-1/coredump", "core"),
                Map.entry("/var/lib/dhcpd/dhcpd.leases", "lease\n"),
                Map.entry("/var/lib/dovecot/instances", "inst\n"),
                Map.entry("/var/log/sssd/sssd.log", "sssd\n"),
                Map.entry("/var/lib/sss/db/cache.ldb", "ldb"),
                Map.entry("/var/log/samba/log.smbd", "smbd\n"),
                Map.entry("/var/lib/samba/private/secrets.tdb", "tdb"),
                Map.entry("/var/log/puppet/puppet.log", "puppet\n"),
                Map.entry("/var/run/utmp", "utmp"),
                Map.entry("/var/run/faillock/alice", "fail")));
        seed(g, "/var/lib/systemd/random-seed", 'D');
        g.fill_pattern("deleted root data ", (int) (DELETED_BYTES / 2), "/junk");
        g.fill_pattern("deleted usr data ", (int) (DELETED_BYTES / 2), "/usr/junk");
        g.sync();
        g.rm("/junk");
        g.rm("/usr/junk");
        g.umount_all();
    }

    private static void rhel(GuestFS g) throws LibGuestFSException {
        g.part_disk("/dev/sdb", "mbr");
        g.mkfs("ext4", "/dev/sdb1", Map.of("label", "rhroot"));
        g.mount("/dev/sdb1", "/");
        for (String d : List.of("/bin", "/usr/bin", "/etc/sysconfig", "/var/lib/rpm", "/root", "/tmp", "/var/tmp",
                "/etc/systemd/system")) {
            g.mkdir_p(d);
        }
        g.upload("/bin/ls", "/bin/ls");
        g.chmod(0755, "/bin/ls");
        users(g, "bob:x:1000:1000:Bob:/home/bob:/bin/bash\nsvc:x:998:998:service:/var/lib/svc:/sbin/nologin\n");
        files(g, Map.ofEntries(
                Map.entry("/etc/redhat-release", "Red Hat Enterprise Linux Server release 7.9 (Maipo)\n"),
                Map.entry("/etc/os-release", "NAME=\"Red Hat Enterprise Linux Server\"\nVERSION=\"7.9 (Maipo)\"\nID=\"rhel\"\n"
                        + "VERSION_ID=\"7.9\"\nPRETTY_NAME=\"Red Hat Enterprise Linux Server 7.9 (Maipo)\"\n"),
                Map.entry("/etc/fstab", "LABEL=rhroot / ext4 defaults 1 1\n"),
                Map.entry("/etc/hostname", "rhel7.example.com\n"),
                Map.entry("/etc/machine-id", RHEL_MACHINE_ID),
                Map.entry("/etc/login.defs", "PASS_MAX_DAYS\t99999\nUID_MIN                  1000\nUID_MAX                 60000\n"),
                Map.entry("/etc/sysconfig/network-scripts/ifcfg-eth0", "DEVICE=eth0\nHWADDR=52:54:00:aa:bb:cc\n"
                        + "BOOTPROTO=dhcp\nHOSTNAME=rhel7\nDHCP_HOSTNAME=rhel7\nONBOOT=yes"),
                Map.entry("/etc/sysconfig/network-scripts/ifcfg-lo", "DEVICE=lo\nIPADDR=127.0.0.1\n"),
                Map.entry("/etc/NetworkManager/system-connections/eth0.nmconnection", "[connection]\nid=eth0\n"),
                Map.entry("/etc/NetworkManager/system-connections/notes.txt", "not a keyfile\n"),
                Map.entry("/var/lib/rpm/__db.001", "db"),
                Map.entry("/var/lib/rpm/Packages", "rpmdb"),
                Map.entry("/var/lib/yum/uuid", "1234\n"),
                Map.entry("/etc/pki/consumer/cert.pem", "cert"),
                Map.entry("/etc/pki/entitlement/1234.pem", "ent"),
                Map.entry("/etc/sysconfig/rhn/systemid", "<systemid/>"),
                Map.entry("/var/account/pacct", "acct"),
                Map.entry("/var/account/pacct-20240101", "acct-old"),
                Map.entry("/var/cache/yum/x86_64/7/base/packages/bash.rpm", "rpm"),
                Map.entry("/var/cache/yum/x86_64/7/base/repomd.xml", "<repomd/>"),
                Map.entry("/etc/smolt/uuid", "smolt"),
                Map.entry("/etc/sysconfig/hw-uuid", "hw"),
                Map.entry("/var/lib/dhclient/dhclient-eth0.leases", "lease\n"),
                Map.entry("/etc/firewalld/zones/public.xml", "<zone/>"),
                Map.entry("/etc/sysconfig/iptables", "*filter\n"),
                Map.entry("/var/kerberos/krb5kdc/principal", "kdc db"),
                Map.entry("/var/kerberos/krb5kdc/kadm5.acl", "*/admin *\n"),
                Map.entry("/var/kerberos/krb5kdc/kdc.conf", "[kdcdefaults]\n"),
                Map.entry("/home/bob/.bashrc", "alias ll='ls -l'\n"),
                Map.entry("/home/bob/.bash_history", "kept: bash-history is deselected\n"),
                Map.entry("/var/lib/svc/state", "system account: kept\n"),
                Map.entry("/var/spool/mail/bob", "From: alice\n"),
                Map.entry("/tmp/keep-me", "kept: tmp-files is deselected\n"),
                Map.entry("/var/tmp/keep-me-too", "kept: tmp-files is deselected\n"),
                Map.entry("/var/log/messages", "boot\n"),
                Map.entry("/var/log/secure", "sshd\n"),
                Map.entry("/var/log/audit/audit.log", "type=DAEMON_START\n"),
                Map.entry("/root/anaconda-ks.cfg", "#kickstart\n"),
                Map.entry("/etc/udev/rules.d/70-persistent-net.rules", "# rules\n"),
                Map.entry("/etc/ssh/ssh_host_ecdsa_key", "PRIVATE"),
                Map.entry("/var/spool/cron/root", "@daily backup\n"),
                Map.entry("/var/spool/at/.SEQ", "00042\n"),
                Map.entry("/var/spool/at/a0001", "#!/bin/sh\n"),
                Map.entry("/etc/ipa/default.conf", "[global]\n"),
                Map.entry("/var/lib/ipa-client/sysrestore/sysrestore.state", "state"),
                Map.entry("/etc/krb5.keytab", "keytab"),
                Map.entry("/etc/blkid/blkid.tab", "tab"),
                Map.entry("/var/lib/dbus/machine-id", RHEL_MACHINE_ID),
                Map.entry("/etc/group-", "old\n"),
                Map.entry("/etc/yum.conf~", "backup\n")));
        seed(g, "/var/lib/random-seed", 'R');
        g.umount_all();
    }

    /** root plus {@code extra} in passwd, shadow and group. */
    private static void users(GuestFS g, String extra) throws LibGuestFSException {
        StringBuilder shadow = new StringBuilder("root:$6$old$hash:19000:0:99999:7:::\n");
        StringBuilder group = new StringBuilder("root:x:0:\n");
        for (String line : extra.split("\n")) {
            String[] f = line.split(":");
            shadow.append(f[0]).append(":!:19000:0:99999:7:::\n");
            group.append(f[0]).append(":x:").append(f[3]).append(":\n");
        }
        files(g, Map.of("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n" + extra,
                "/etc/shadow", shadow.toString(), "/etc/group", group.toString()));
        g.chmod(0640, "/etc/shadow");
    }

    private static void files(GuestFS g, Map<String, String> files) throws LibGuestFSException {
        for (Map.Entry<String, String> f : new java.util.TreeMap<>(files).entrySet()) {
            g.mkdir_p(f.getKey().substring(0, f.getKey().lastIndexOf('/')).isEmpty() ? "/"
                    : f.getKey().substring(0, f.getKey().lastIndexOf('/')));
            g.write(f.getKey(), f.getValue().getBytes(StandardCharsets.UTF_8));
        }
    }

    /** 512 bytes of a known pattern, so a new seed is recognisable. */
    private static void seed(GuestFS g, String path, char fill) throws LibGuestFSException {
        byte[] b = new byte[512];
        java.util.Arrays.fill(b, (byte) fill);
        g.mkdir_p(path.substring(0, path.lastIndexOf('/')));
        g.write(path, b);
        g.chmod(0600, path);
    }
}
