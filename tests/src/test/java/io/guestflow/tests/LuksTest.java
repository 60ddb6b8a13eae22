package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.redhat.et.libguestfs.GuestFS;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Decryption;
import io.guestflow.pool.Drive;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.GuestEvent;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.LuksKey;
import io.guestflow.pool.PoolConfig;
import io.guestflow.processors.inspect.InspectOperation;
import io.guestflow.processors.inspect.InspectOptions;
import io.guestflow.processors.inspect.InspectionXml;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.journal.JournalExport;
import io.guestflow.processors.journal.JournalOptions;
import io.guestflow.processors.journal.JournalSink;
import io.guestflow.processors.sparsify.SparsifyJobOperation;
import io.guestflow.processors.sparsify.SparsifyReport;
import io.guestflow.processors.sparsify.SparsifyReport.Action;
import io.guestflow.processors.sparsify.SparsifyReport.Filesystem;
import io.guestflow.processors.sysprep.SysprepJobOperation;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Encrypted guests (issue 20) against the virt tools given the same keys, on
 * {@link LuksFixture} (LVM on LUKS and LUKS on LVM in one guest): inspection,
 * journal, sysprep, and sparsify in both modes, each compared with the golden
 * output of virt-inspector, virt-log, virt-sysprep and virt-sparsify
 * ({@link VirtLuks}). Four launches: one read-only appliance (with debug
 * events) for a wrong key, a key that applies to one container only, the
 * {@code all} selector, inspection, the journal and the check that no event
 * shows a passphrase; one for sysprep and the sealed tree; one per sparsify
 * mode. Plus the fixture's build, once per machine.
 */
@Tag("appliance")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LuksTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String WRONG = "not-the-passphrase-77";
    private static final DateTimeFormatter VIRT_LOG_TIME = DateTimeFormatter.ofPattern("MMM dd HH:mm:ss", Locale.ROOT)
            .withZone(ZoneOffset.UTC);
    private static final String[] PRIORITIES = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};

    private LuksFixture.Built fixture;
    private HandlePool pool;
    private Path work;
    private List<ProcessHandle> qemuBefore;
    private List<Path> libguestfsBefore;
    private final List<GuestEvent> events = Collections.synchronizedList(new ArrayList<>());
    private GuestflowException wrongKey;
    private Decryption.Opened partial;
    private Decryption.Opened all;
    private String inspectionXml;
    private List<String> journal;

    @BeforeAll
    void readOnlyLaunch() throws Exception {
        fixture = LuksFixture.ensure();
        System.out.println("LUKS fixture: luksFormat took " + fixture.luksFormatMillis() + " ms of its build");
        qemuBefore = Leftovers.qemuChildren();
        libguestfsBefore = Leftovers.libguestfsTmpDirs();
        work = Files.createTempDirectory("luks-test");
        pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
        try (HandlePool.Lease lease = pool.lease("luks-read-only")) {
            ApplianceHandle h = lease.launch(List.of(new Drive(fixture.image().toUri(), "qcow2", true, null)),
                    events::add, true);
            // a wrong key for the partition: the job would fail here, before anything looks at the guest
            wrongKey = catchThrowableOfType(() -> Decryption.open(h, List.of(new LuksKey(LuksFixture.ROOT_PART, WRONG),
                    new LuksKey(LuksFixture.DATA_LV, LuksFixture.DATA_KEY))), GuestflowException.class);
            // a key for the LV only, by its LUKS UUID: the partition stays closed
            partial = Decryption.open(h, List.of(new LuksKey(fixture.dataLuksUuid(), LuksFixture.DATA_KEY)));
            // both passphrases for every container: each is tried until one opens it
            all = Decryption.open(h, List.of(new LuksKey(LuksKey.ALL, LuksFixture.DATA_KEY),
                    new LuksKey(LuksKey.ALL, LuksFixture.ROOT_KEY)));
            GuestFS g = h.gfs();
            String[] roots = h.inspectOs();
            inspectionXml = InspectionXml.render(new InspectOperation(InspectOptions.defaults()).run(g, roots));
            journal = journal(g, roots[0]);
        }
    }

    @AfterAll
    void cleanUp() throws Exception {
        if (pool != null) {
            pool.close();
        }
        if (work != null) {
            FileTrees.delete(work);
        }
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isSubsetOf(qemuBefore);
        Leftovers.assertNoLibguestfsDirsLeft(libguestfsBefore);
    }

    @Test
    void wrongKeyFailsNamingTheDeviceNotTheKeyAndIsNotRetried() {
        assertThat(wrongKey).isNotNull();
        assertThat(wrongKey.code()).isEqualTo(ErrorCode.WRONG_KEY);
        assertThat(wrongKey.retryable()).isFalse();
        assertThat(wrongKey.getMessage()).contains(LuksFixture.ROOT_PART).contains(fixture.rootLuksUuid())
                .doesNotContain(WRONG).doesNotContain(LuksFixture.DATA_KEY);
    }

    @Test
    void aContainerNoKeyAppliesToStaysClosed() {
        assertThat(partial.opened()).containsExactly(new Decryption.Mapping(LuksFixture.DATA_LV, fixture.dataLuksUuid(),
                "/dev/mapper/luks-" + fixture.dataLuksUuid()));
        assertThat(partial.leftClosed()).containsExactly(LuksFixture.ROOT_PART);
        // the selector "all": the partition opens with the second passphrase, the LV was open already
        assertThat(all.opened()).extracting(Decryption.Mapping::device)
                .containsExactly(LuksFixture.ROOT_PART, LuksFixture.DATA_LV);
        assertThat(all.leftClosed()).isEmpty();
    }

    @Test
    void inspectionNamesTheMappedDevicesAsVirtInspectorDoes() {
        assertThat(inspectionXml).isEqualTo(VirtLuks.golden("inspector.xml", fixture))
                .contains("<mountpoint dev=\"/dev/mapper/luks-" + fixture.dataLuksUuid() + "\">/srv</mountpoint>")
                .contains("<root>/dev/cryptvg/root</root>");
    }

    @Test
    void journalIsWhatVirtLogPrints() {
        List<String> virtLog = VirtLuks.golden("log.txt", fixture).lines().toList();
        assertThat(journal).hasSize(LuksFixture.JOURNAL_ENTRIES).isEqualTo(virtLog);
    }

    @Test
    void noEventShowsAPassphraseEvenWithDebug() {
        List<String> messages;
        synchronized (events) {
            messages = events.stream().map(GuestEvent::message).filter(m -> m != null).toList();
        }
        assertThat(messages).as("trace lines of cryptsetup_open")
                .filteredOn(m -> m.contains("cryptsetup_open \"")).hasSizeGreaterThanOrEqualTo(3)
                .allMatch(m -> m.contains("\"***\""));
        assertThat(messages).as("debug and trace events").isNotEmpty()
                .noneMatch(m -> m.contains(LuksFixture.ROOT_KEY) || m.contains(LuksFixture.DATA_KEY) || m.contains(WRONG));
    }

    @Test
    void sysprepLeavesTheTreeVirtSysprepLeaves() throws Exception {
        Path disk = Images.sparseCopy(fixture.image(), work.resolve("sysprep.qcow2"));
        ObjectNode options = JSON.createObjectNode();
        VirtLuks.SYSPREP_OPS.forEach(options.putArray("operations")::add);
        Job job = new Job("luks-sysprep", "sysprep", List.of(new Job.Disk(disk.toString(), "qcow2", null)), null,
                options, 1200, Map.of(), false);
        JobExecutor.execute(pool, new SysprepJobOperation(false), job, events::add,
                h -> Decryption.open(h, List.of(new LuksKey(LuksKey.ALL, LuksFixture.ROOT_KEY),
                        new LuksKey(LuksFixture.DATA_LV, LuksFixture.DATA_KEY))), new JobExecutor.Attempt());
        GuestTree ours = GuestTree.read(List.of(disk), fixture.keysByDevice()).get("debian");
        GuestTree theirs = GuestTreeFiles.parse(VirtLuks.golden("sysprep.tree", fixture));
        TreeMap<String, String> o = new TreeMap<>(theirs.entries());
        TreeMap<String, String> u = new TreeMap<>(ours.entries());
        for (String random : List.of("/var/lib/systemd/random-seed", "/var/lib/urandom/random-seed", "/etc/machine-id")) {
            String a = o.remove(random);
            String b = u.remove(random);
            assertThat(b == null).as(random + " present in ours exactly when in virt-sysprep's").isEqualTo(a == null);
            if (a != null && a.startsWith("file ")) {
                // same type, mode, owner and size; a seed's content is random by design
                assertThat(b.substring(0, b.lastIndexOf(' '))).as(random).isEqualTo(a.substring(0, a.lastIndexOf(' ')));
            }
        }
        List<String> differences = new ArrayList<>();
        for (String path : new TreeSet<>(union(o, u))) {
            if (!String.valueOf(o.get(path)).equals(String.valueOf(u.get(path)))) {
                differences.add(path + ": virt-sysprep=" + o.get(path) + " ours=" + u.get(path));
            }
        }
        assertThat(differences).as("paths that differ from virt-sysprep's result").isEmpty();
        assertThat(u).doesNotContainKeys("/root/.bash_history", "/etc/ssh/ssh_host_ed25519_key", "/tmp/session.tmp")
                .containsKeys("/srv/www/index.html", "/boot/config-6.1.0-18-amd64");
    }

    @Test
    void sparsifyCopyLeavesEncryptedContainersAsTheyAreAndBeatsVirtSparsify() throws Exception {
        Path in = Images.sparseCopy(fixture.image(), work.resolve("copy-in.qcow2"));
        Path out = work.resolve("copy-out.qcow2");
        Job job = new Job("luks-sparsify-copy", "sparsify", List.of(new Job.Disk(in.toString(), "qcow2", null)),
                new Job.Output(out.toString(), "qcow2"), JSON.createObjectNode().put("tmpDir", work.toString()), 1200,
                Map.of(), false);
        SparsifyReport report = (SparsifyReport) JobExecutor.execute(pool, new SparsifyJobOperation(), job, events::add,
                h -> Decryption.open(h, fixture.keysByDevice()), new JobExecutor.Attempt());
        assertEncryptedLeftAlone(report);
        VirtLuks.SparsifyRun virt = VirtLuks.sparsify("copy", fixture);
        assertThat(virt.exitCode()).isZero();
        long ours = Images.allocated(out);
        System.out.printf("sparsify copy, encrypted guest: input %d, ours %d, virt-sparsify %d bytes%n",
                Images.allocated(in), ours, virt.allocatedAfter());
        // virt-sparsify fills the free space inside the containers with zeroes, which dm-crypt writes as
        // ciphertext: nothing smaller there. We leave them alone and trim what is plain.
        assertThat(ours).isLessThanOrEqualTo(virt.allocatedAfter() + (1L << 20)).isLessThan(Images.allocated(in) - (16L << 20));
        assertSameBytes(in, out, "the encrypted partition and the LVM PV holding the encrypted LV");
    }

    @Test
    void sparsifyInPlaceReclaimsThePlainPartsWhereVirtSparsifyFails() throws Exception {
        Path disk = Images.sparseCopy(fixture.image(), work.resolve("in-place.qcow2"));
        Path pristine = Images.sparseCopy(fixture.image(), work.resolve("pristine.qcow2"));
        long before = Images.allocated(disk);
        Job job = new Job("luks-sparsify-in-place", "sparsify", List.of(new Job.Disk(disk.toString(), "qcow2", null)),
                null, JSON.createObjectNode().put("inPlace", true), 1200, Map.of(), false);
        SparsifyReport report = (SparsifyReport) JobExecutor.execute(pool, new SparsifyJobOperation(), job, events::add,
                h -> Decryption.open(h, List.of(new LuksKey(fixture.rootLuksUuid(), LuksFixture.ROOT_KEY),
                        new LuksKey(fixture.dataLuksUuid(), LuksFixture.DATA_KEY))), new JobExecutor.Attempt());
        assertEncryptedLeftAlone(report);
        VirtLuks.SparsifyRun virt = VirtLuks.sparsify("in-place", fixture);
        // virt-sparsify 1.48 stops with an error at the volume group inside the LUKS partition (BLKDISCARD is not
        // supported through dm-crypt), after trimming /boot
        assertThat(virt.exitCode()).isNotZero();
        assertThat(virt.messages()).anyMatch(m -> m.contains("BLKDISCARD: Operation not supported"));
        long after = Images.allocated(disk);
        System.out.printf("sparsify in place, encrypted guest: %d -> %d bytes; virt-sparsify %d -> %d (failed)%n",
                before, after, virt.allocatedBefore(), virt.allocatedAfter());
        assertThat(before - after).as("bytes given back").isGreaterThanOrEqualTo(virt.allocatedBefore() - virt.allocatedAfter());
        assertSameBytes(pristine, disk, "the encrypted partition and the LVM PV holding the encrypted LV");
    }

    /** Containers, what they hold and the VG inside the partition are ENCRYPTED; /boot and datavg's free space are given back. */
    private void assertEncryptedLeftAlone(SparsifyReport report) {
        Map<String, Filesystem> fs = report.filesystems().stream().collect(Collectors.toMap(Filesystem::device, Function.identity()));
        assertThat(fs.get(LuksFixture.ROOT_PART).action()).isEqualTo(Action.ENCRYPTED);
        assertThat(fs.get(LuksFixture.DATA_LV).action()).isEqualTo(Action.ENCRYPTED);
        assertThat(fs.get("/dev/cryptvg/root").action()).isEqualTo(Action.ENCRYPTED);
        assertThat(fs.get("/dev/mapper/luks-" + fixture.dataLuksUuid()).action()).isEqualTo(Action.ENCRYPTED);
        assertThat(fs.get("/dev/sda1").action()).isEqualTo(Action.TRIMMED);
        Map<String, String> vgs = report.volumeGroups().stream()
                .collect(Collectors.toMap(SparsifyReport.VolumeGroup::name, SparsifyReport.VolumeGroup::action));
        assertThat(vgs.get("cryptvg")).isEqualTo("encrypted");
        assertThat(vgs.get("datavg")).isIn("free-space-cleared", "discarded");
    }

    /** The bytes of /dev/sda2 and /dev/sda3's secret LV region are the same in both images (read as raw on the host). */
    private void assertSameBytes(Path a, Path b, String what) throws IOException {
        Path rawA = raw(a);
        Path rawB = raw(b);
        // /dev/sda2 (64-300 MiB): the LUKS partition, whose content is ciphertext
        assertThat(sha(rawB, 64L << 20, 236L << 20)).as(what).isEqualTo(sha(rawA, 64L << 20, 236L << 20));
        Files.delete(rawA);
        Files.delete(rawB);
    }

    private Path raw(Path qcow2) {
        Path to = work.resolve(qcow2.getFileName() + "-" + System.nanoTime() + ".raw");
        VirtTool.run(Duration.ofMinutes(5), "qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw", qcow2.toString(),
                to.toString()).orFail("qemu-img convert");
        return to;
    }

    private static String sha(Path file, long offset, long length) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            var md = java.security.MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            f.seek(offset);
            for (long left = length; left > 0; ) {
                int n = f.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    break;
                }
                md.update(buf, 0, n);
                left -= n;
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The guest's journal through our export, printed as virt-log prints it ({@code MMM dd HH:mm:ss ID[PID] prio:
     * MESSAGE}, UTC here; an entry without PRIORITY shows as {@code info}).
     */
    private static List<String> journal(GuestFS g, String root) throws Exception {
        List<ObjectNode> records = new ArrayList<>();
        Job job = new Job("luks-journal", "journal", List.of(new Job.Disk("/x.qcow2", null, null)), null,
                JSON.createObjectNode(), 3600, Map.of(), false);
        new JournalExport(job.jobId(), JournalOptions.of(job), new JournalSink() {
            @Override
            public void accept(ObjectNode record) {
                records.add(record);
            }

            @Override
            public void complete() {
            }
        }, JSON).exportRoot(g, root);
        g.umount_all();
        List<String> lines = new ArrayList<>();
        for (ObjectNode r : records) {
            var f = r.path("fields");
            Instant t = Instant.ofEpochSecond(0, r.path("realtimeUsec").asLong() * 1000);
            String prio = f.path("PRIORITY").asText("");
            lines.add(VIRT_LOG_TIME.format(t) + " " + f.path("SYSLOG_IDENTIFIER").asText() + "[" + f.path("_PID").asText()
                    + "] " + (prio.matches("[0-7]") ? PRIORITIES[Integer.parseInt(prio)] : "info") + ": "
                    + r.path("message").asText());
        }
        return lines;
    }

    private static java.util.Set<String> union(Map<String, String> a, Map<String, String> b) {
        java.util.Set<String> s = new TreeSet<>(a.keySet());
        s.addAll(b.keySet());
        return s;
    }
}
