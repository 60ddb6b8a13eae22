package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.sysprep.SysprepJobOperation;
import io.guestflow.processors.sysprep.SysprepReport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Tag;

/**
 * Our sysprep against virt-sysprep, file by file: both run on copies of the
 * same fixtures with the same operation set, then the two guests' trees
 * (paths, types, modes, owners, sizes, content hashes) must be equal, except
 * for values random by design (random seeds, LVM UUIDs, a new machine id),
 * which must be present and new. virt-sysprep's trees are golden files
 * ({@link VirtSysprep}) made from fixtures of the same recipe and the same
 * operation sets.
 */
@Tag("appliance")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SysprepDifferentialTest {
    private static final List<String> DEBIAN_OPS = VirtSysprep.DEBIAN_OPS;
    private static final List<String> RHEL_OPS = VirtSysprep.RHEL_OPS;
    private static final Map<String, String> SEEDS = Map.of("debian", "/var/lib/systemd/random-seed",
            "rhel", "/var/lib/random-seed");

    private Path work;
    private Map<String, GuestTree> oracle;
    private Map<String, GuestTree> ours;
    private final Map<String, SysprepReport> reports = new TreeMap<>();
    private final Map<String, Long> ourMillis = new TreeMap<>();
    private List<Path> tmpBefore;

    @BeforeAll
    void sealBothWays() throws Exception {
        tmpBefore = Leftovers.libguestfsTmpDirs();
        Path fixtures = SysprepFixtures.dir();
        work = Files.createTempDirectory("sysprep-diff");
        oracle = VirtSysprep.golden();
        Path debian = copy(fixtures.resolve(SysprepFixtures.DEBIAN), work.resolve("ours-debian.qcow2"));
        Path rhel = copy(fixtures.resolve(SysprepFixtures.RHEL), work.resolve("ours-rhel.qcow2"));
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1))) {
            reports.put("debian", seal(pool, debian, DEBIAN_OPS, "debian"));
            reports.put("rhel", seal(pool, rhel, RHEL_OPS, "rhel"));
        }
        ours = GuestTree.read(List.of(debian, rhel));
    }

    @AfterAll
    void cleanUp() throws IOException {
        io.guestflow.pool.FileTrees.delete(work);
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isEmpty();
        Leftovers.assertNoLibguestfsDirsLeft(tmpBefore);
        System.out.println("sysprep timings (ms, launch included): ours " + ourMillis);
    }

    private SysprepReport seal(HandlePool pool, Path disk, List<String> ops, String name) {
        ObjectNode options = new ObjectMapper().createObjectNode();
        ops.forEach(options.putArray("operations")::add);
        Job job = new Job("diff-" + name, "sysprep", List.of(new Job.Disk(disk.toString(), "qcow2", null)), null,
                options, 1200, Map.of(), false);
        SysprepJobOperation op = new SysprepJobOperation(false);
        op.validate(job);
        long t0 = System.nanoTime();
        Object out = JobExecutor.execute(pool, op, job, GuestEventListener.NONE, h -> { }, new JobExecutor.Attempt());
        ourMillis.put(name, (System.nanoTime() - t0) / 1_000_000);
        return (SysprepReport) out;
    }

    @Test
    void debianGuestMatchesVirtSysprepWithTheDefaultOperations() {
        assertSameTree("debian");
    }

    @Test
    void rhelGuestMatchesVirtSysprepWithOperationsAddedAndRemoved() {
        assertSameTree("rhel");
        // deselected operations left their files; the optional ones acted
        assertThat(ours.get("rhel").entries()).containsKeys("/tmp/keep-me", "/var/kerberos/krb5kdc/kadm5.acl",
                        "/.unconfigured", "/var/lib/svc/state")
                .doesNotContainKeys("/etc/sysconfig/iptables", "/var/kerberos/krb5kdc/principal", "/home/bob/.bashrc",
                        "/var/spool/mail/bob");
    }

    private void assertSameTree(String distro) {
        Map<String, String> o = new TreeMap<>(oracle.get(distro).entries());
        Map<String, String> u = new TreeMap<>(ours.get(distro).entries());
        for (String random : List.of(SEEDS.get(distro), "/etc/machine-id")) {
            String a = o.remove(random);
            String b = u.remove(random);
            assertThat(b == null).as(random + " present in ours exactly when in virt-sysprep's").isEqualTo(a == null);
            if (a != null) {
                // same type, mode, owner and size; the content is random by design
                assertThat(b.substring(0, b.lastIndexOf(' '))).as(random).isEqualTo(a.substring(0, a.lastIndexOf(' ')));
            }
        }
        List<String> differences = new ArrayList<>();
        for (String path : new TreeSet<>(union(o.keySet(), u.keySet()))) {
            if (!String.valueOf(o.get(path)).equals(String.valueOf(u.get(path)))) {
                differences.add(path + ": virt-sysprep=" + o.get(path) + " ours=" + u.get(path));
            }
        }
        assertThat(differences).as("paths that differ from virt-sysprep's result on " + distro).isEmpty();
        assertThat(u.size()).as("a meaningful tree").isGreaterThan(40);
    }

    private static TreeSet<String> union(java.util.Set<String> a, java.util.Set<String> b) {
        TreeSet<String> s = new TreeSet<>(a);
        s.addAll(b);
        return s;
    }

    @Test
    void identityValuesAreNewAndPresent() {
        Properties before = SysprepFixtures.original();
        for (String distro : List.of("debian", "rhel")) {
            String seed = ours.get(distro).entries().get(SEEDS.get(distro));
            assertThat(seed).as(distro + " random seed").isNotNull();
            char fill = distro.equals("debian") ? 'D' : 'R';
            assertThat(seed).as(distro + " random seed is new").doesNotEndWith(sha256(fill512(fill)))
                    .isNotEqualTo(oracle.get(distro).entries().get(SEEDS.get(distro)));
            String id = ours.get(distro).entries().get("/etc/machine-id");
            assertThat(id).as(distro + " machine-id").isNotNull()
                    .doesNotEndWith(sha256((before.getProperty(distro + ".machine-id") + "\n").getBytes(StandardCharsets.UTF_8)));
        }
        GuestTree deb = ours.get("debian");
        assertThat(deb.pvUuid()).isNotBlank().isNotEqualTo(before.getProperty("debian.pvuuid"))
                .isNotEqualTo(oracle.get("debian").pvUuid());
        assertThat(deb.vgUuid()).isNotBlank().isNotEqualTo(before.getProperty("debian.vguuid"))
                .isNotEqualTo(oracle.get("debian").vgUuid());
    }

    @Test
    void theReportNamesWhatWasRemovedAndWhySomethingWasSkipped() {
        SysprepReport.Guest debian = reports.get("debian").guests().get(0);
        assertThat(debian.distro()).isEqualTo("debian");
        assertThat(debian.hostname()).isEqualTo("web01");
        assertThat(debian.operation("bash-history").getRemoved())
                .containsExactly("/home/alice/.bash_history", "/root/.bash_history");
        assertThat(debian.operation("ssh-hostkeys").getRemovedCount()).isEqualTo(2);
        assertThat(debian.operation("machine-id").getChanged())
                .containsExactly("/etc/machine-id", "/var/lib/dbus/machine-id");
        assertThat(debian.operation("rhn-systemid").isRan()).isFalse();
        assertThat(debian.operation("rhn-systemid").getSkipped()).contains("RHEL only");
        assertThat(debian.operation("lvm-uuids").getChanged()).singleElement().asString().contains("vgdeb");
        SysprepReport.Guest rhel = reports.get("rhel").guests().get(0);
        assertThat(rhel.operations()).extracting(o -> o.getName()).doesNotContain("tmp-files", "bash-history")
                .contains("user-account", "firewall-rules");
        // mail-spool ran first (by name) and took bob's mail; user-account took his home
        assertThat(rhel.operation("mail-spool").getRemoved()).containsExactly("/var/spool/mail/bob");
        assertThat(rhel.operation("user-account").getRemoved()).containsExactly("/home/bob");
        assertThat(rhel.operation("user-account").getChanged()).containsExactly("/etc/passwd", "/etc/shadow", "/etc/group");
        assertThat(rhel.operation("net-hwaddr").getChanged())
                .containsExactly("/etc/sysconfig/network-scripts/ifcfg-eth0");
    }

    static Path copy(Path from, Path to) throws IOException {
        Files.copy(from, to);
        return to;
    }

    private static byte[] fill512(char c) {
        byte[] b = new byte[512];
        java.util.Arrays.fill(b, (byte) c);
        return b;
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
