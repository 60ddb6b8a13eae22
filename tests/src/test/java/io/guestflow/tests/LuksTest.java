package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.redhat.et.libguestfs.LibGuestFSException;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.processors.inspect.InspectionXml;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Encrypted guests (issue 20) end to end: jobs with {@code keys} (files under
 * the engine's secrets dir) through the engine on a real broker, on
 * {@link LuksFixture} (LVM on LUKS and LUKS on LVM in one guest), each
 * compared with the golden output of the virt tool given the same keys
 * ({@link VirtLuks}: virt-inspector, virt-log, virt-sysprep, virt-sparsify).
 *
 * <p>Three jobs, one launch each, submitted together: a sysprep with a wrong
 * key (FAILED {@code WRONG_KEY}, not retried, the image untouched); a
 * pipeline inspect + journal + copy-mode sparsify with the partition's key
 * for {@code all} and the LV's by its LUKS UUID (so the LV is tried with
 * both, in that order) and {@code debug: true}; a pipeline sysprep + in-place
 * sparsify with the partition's key only (by LUKS UUID), so the encrypted LV
 * stays closed and sparsify ignores it. No passphrase appears in any record
 * of any topic.
 *
 * <p>A fourth job resizes the encrypted guest without keys, as
 * {@link VirtResizeLuks} ran virt-resize on it (grow the disk, expand the LUKS
 * partition, grow the partition of the PV holding the LUKS LV and ask for that
 * LV): the same table, facts, first-MiB changes and bytes copied as they are.
 *
 * <p>One more launch reads what the jobs left: it observes the resized copy
 * and opens its containers with the keys to see every file survive, and reads
 * the sealed tree. With the fixture's build (once per machine): six launches
 * cold, five warm.
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
    private Path work;
    private Path readOnly;
    private Path sealed;
    private Path copyOut;
    private Path resizeInput;
    private Path resized;
    private VirtResizeLuks.Seen resizeSeen;
    private Map<String, String> sealedTree;
    private String readOnlySha;
    private long sealedBefore;
    private List<ProcessHandle> qemuBefore;
    private List<Path> libguestfsBefore;
    private Map<String, JsonNode> results;
    private final Map<String, List<JsonNode>> events = new LinkedHashMap<>();
    private List<JsonNode> journal;
    private List<String> leaks;
    private int recordsRead;
    private long launches;

    @BeforeAll
    void runJobs() throws Exception {
        long t0 = System.nanoTime();
        fixture = LuksFixture.ensure();
        System.out.println("LUKS fixture: luksFormat took " + fixture.luksFormatMillis() + " ms of its build");
        qemuBefore = Leftovers.qemuChildren();
        libguestfsBefore = Leftovers.libguestfsTmpDirs();
        work = Files.createTempDirectory("luks-test");
        Path images = Files.createDirectories(work.resolve("images"));
        Path secrets = Files.createDirectories(work.resolve("secrets"));
        Files.writeString(secrets.resolve("root.key"), LuksFixture.ROOT_KEY + "\n");
        Files.writeString(secrets.resolve("data.key"), LuksFixture.DATA_KEY + "\n");
        Files.writeString(secrets.resolve("wrong.key"), WRONG + "\n");
        readOnly = Images.sparseCopy(fixture.image(), images.resolve("luks-a.qcow2"));
        sealed = Images.sparseCopy(fixture.image(), images.resolve("luks-b.qcow2"));
        // its own copy: the wrong-key sysprep attaches luks-a writable while the resize may read it
        resizeInput = Images.sparseCopy(fixture.image(), images.resolve("luks-c.qcow2"));
        readOnlySha = Fixtures.sha256(readOnly);
        sealedBefore = Images.allocated(sealed);
        try (TestEngine engine = TestEngine.start(images, work, Map.of("guestflow.engine.secrets-dir",
                secrets.toString(), "guestflow.engine.allow-debug-jobs", "true"))) {
            copyOut = work.resolve("out/luks-small.qcow2");
            Map<String, String> jobs = new LinkedHashMap<>();
            jobs.put("luks-wrong", job("luks-wrong", "sysprep", readOnly, ",\"debug\":true,"
                    + keys(LuksFixture.ROOT_PART, "root.key", LuksFixture.DATA_LV, "wrong.key")));
            // read-only steps and copy-mode sparsify share the launch (its overlay is the pipeline's disk)
            jobs.put("luks-read", job("luks-read", "pipeline", readOnly, ",\"debug\":true,"
                    + keys(LuksKeyAll(), "root.key", fixture.dataLuksUuid(), "data.key")
                    + ",\"output\":{\"uri\":\"" + copyOut.toUri() + "\"},\"options\":{\"steps\":[{\"type\":\"inspect\"},"
                    + "{\"type\":\"journal\"},{\"type\":\"sparsify\"}]}"));
            // the partition's key only: the encrypted LV stays closed, and sparsify must be told to ignore it
            jobs.put("luks-seal", job("luks-seal", "pipeline", sealed, ","
                    + keys(fixture.rootLuksUuid(), "root.key")
                    + ",\"options\":{\"steps\":[{\"type\":\"sysprep\",\"options\":{\"operations\":[\"defaults\",\"-lvm-uuids\"]}},"
                    + "{\"type\":\"sparsify\",\"options\":{\"inPlace\":true,\"ignore\":[\"" + LuksFixture.DATA_LV + "\"]}}]}"));
            // no keys: virt-resize has none, and copies both containers as they are
            resized = work.resolve("out/luks-resized.qcow2");
            jobs.put("luks-resize", job("luks-resize", "resize", resizeInput, ",\"output\":{\"uri\":\"" + resized.toUri()
                    + "\",\"format\":\"qcow2\"},\"options\":"
                    + VirtResize.options(VirtResizeLuks.SIZE, VirtResizeLuks.ARGS)));
            engine.submitAll(jobs);
            results = engine.awaitResults(jobs.keySet(), Duration.ofMinutes(30));
            engine.poll();
            journal = engine.values(engine.topics().journal(), "luks-read");
            for (String id : jobs.keySet()) {
                events.put(id, engine.values(engine.topics().log(), id));
            }
            leaks = new ArrayList<>();
            for (ConsumerRecord<String, byte[]> rec : engine.seen()) {
                if (rec.topic().equals(engine.topics().jobs())) {
                    continue;
                }
                recordsRead++;
                String text = rec.value() == null ? "" : new String(rec.value(), StandardCharsets.UTF_8);
                for (String secret : List.of(LuksFixture.ROOT_KEY, LuksFixture.DATA_KEY, WRONG)) {
                    if (text.contains(secret)) {
                        leaks.add(rec.topic() + " " + rec.key() + ": " + text);
                    }
                }
            }
            launches = engine.engine().pool().metrics().launches();
        }
        System.out.printf("LuksTest: 4 jobs through the engine in %.1f s, %d launches%n", (System.nanoTime() - t0) / 1e9,
                launches);
        readOutputs();
    }

    /**
     * One launch, read-only, for what the jobs left: the resize's input and output observed ({@link VirtResizeLuks},
     * as its oracle observed virt-resize's), and the sealed guest's tree. The three disks are copies of the fixture
     * (the same LVM and LUKS UUIDs), so each is opened alone under its own mapping names
     * ({@link LuksFixture#readOpened}) and closed before the next.
     */
    private void readOutputs() throws LibGuestFSException {
        boolean resizeDone = results.get("luks-resize").path("status").asText().equals("SUCCEEDED");
        boolean sealDone = results.get("luks-seal").path("status").asText().equals("SUCCEEDED");
        List<Path> disks = new ArrayList<>();
        if (resizeDone) {
            disks.add(resizeInput);
            disks.add(resized);
        }
        if (sealDone) {
            disks.add(sealed);
        }
        if (disks.isEmpty()) {
            return;
        }
        long t0 = System.nanoTime();
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
             HandlePool.Lease lease = pool.lease("luks-read-outputs")) {
            ApplianceHandle h = lease.launch(disks.stream().map(p -> new Drive(p.toUri(), "qcow2", true, null)).toList(),
                    GuestEventListener.NONE);
            long t1 = System.nanoTime();
            if (resizeDone) {
                resizeSeen = VirtResizeLuks.observe(h.gfs(), "/dev/sda", "/dev/sdb");
            }
            long t2 = System.nanoTime();
            if (sealDone) {
                String last = "/dev/sd" + (char) ('a' + disks.size() - 1);
                sealedTree = LuksFixture.readOpened(h.gfs(), last, GuestTree::entries);
            }
            System.out.printf("LuksTest: outputs read in one launch, %.1f s (launch %.1f s, resized guest observed and"
                    + " opened %.1f s, sealed tree %.1f s)%n", (System.nanoTime() - t0) / 1e9, (t1 - t0) / 1e9,
                    (t2 - t1) / 1e9, (System.nanoTime() - t2) / 1e9);
        }
    }

    private static String LuksKeyAll() {
        return io.guestflow.pool.LuksKey.ALL;
    }

    @AfterAll
    void cleanUp() throws Exception {
        if (work != null) {
            FileTrees.delete(work);
        }
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isSubsetOf(qemuBefore);
        Leftovers.assertNoLibguestfsDirsLeft(libguestfsBefore);
    }

    @Test
    void aWrongKeyFailsOnceNamingTheDeviceAndWritesNothing() throws Exception {
        JsonNode r = results.get("luks-wrong");
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("FAILED");
        assertThat(r.path("error").path("code").asText()).isEqualTo("WRONG_KEY");
        assertThat(r.path("error").path("retryable").asBoolean(true)).isFalse();
        assertThat(r.path("error").path("message").asText()).contains(LuksFixture.DATA_LV).contains(fixture.dataLuksUuid());
        assertThat(events.get("luks-wrong")).extracting(e -> e.path("type").asText())
                .noneMatch(t -> t.endsWith("retrying"));
        assertThat(Fixtures.sha256(readOnly)).as("the image a wrong key was given for").isEqualTo(readOnlySha);
        assertThat(launches).as("one launch per job, none retried").isEqualTo(4);
    }

    @Test
    void inspectionNamesTheMappedDevicesAsVirtInspectorDoes() {
        JsonNode r = results.get("luks-read");
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("SUCCEEDED");
        InspectionReport ours = JSON.convertValue(r.path("output").path("steps").get(0).path("output"), InspectionReport.class);
        assertThat(InspectionXml.render(ours)).isEqualTo(VirtLuks.golden("inspector.xml", fixture))
                .contains("<mountpoint dev=\"/dev/mapper/luks-" + fixture.dataLuksUuid() + "\">/srv</mountpoint>")
                .contains("<root>/dev/cryptvg/root</root>");
    }

    @Test
    void journalIsWhatVirtLogPrints() {
        List<String> ours = journal.stream().map(LuksTest::virtLogLine).toList();
        assertThat(ours).hasSize(LuksFixture.JOURNAL_ENTRIES)
                .isEqualTo(VirtLuks.golden("log.txt", fixture).lines().toList());
    }

    @Test
    void noTopicRecordShowsAPassphraseEvenWithDebug() {
        assertThat(events.get("luks-read")).as("debug events of the pipeline").extracting(e -> e.toString())
                .anyMatch(e -> e.contains("cryptsetup_open") && e.contains("***"));
        assertThat(events.get("luks-wrong")).as("debug events of the wrong-key job").extracting(e -> e.toString())
                .anyMatch(e -> e.contains("cryptsetup_open") && e.contains("***"));
        assertThat(recordsRead).as("records read").isGreaterThan(LuksFixture.JOURNAL_ENTRIES + 100);
        assertThat(leaks).as("records holding a passphrase").isEmpty();
    }

    @Test
    void sysprepLeavesTheTreeVirtSysprepLeaves() {
        JsonNode r = results.get("luks-seal");
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("SUCCEEDED");
        assertThat(sealedTree).as("the sealed guest's tree, read with the keys").isNotNull();
        GuestTree theirs = GuestTreeFiles.parse(VirtLuks.golden("sysprep.tree", fixture));
        TreeMap<String, String> o = new TreeMap<>(theirs.entries());
        TreeMap<String, String> u = new TreeMap<>(sealedTree);
        for (String random : List.of("/var/lib/systemd/random-seed", "/var/lib/urandom/random-seed", "/etc/machine-id")) {
            String a = o.remove(random);
            String b = u.remove(random);
            assertThat(b == null).as(random + " present in ours exactly when in virt-sysprep's").isEqualTo(a == null);
            if (a != null && a.startsWith("file ")) {
                assertThat(b.substring(0, b.lastIndexOf(' '))).as(random).isEqualTo(a.substring(0, a.lastIndexOf(' ')));
            }
        }
        List<String> differences = new ArrayList<>();
        TreeSet<String> paths = new TreeSet<>(o.keySet());
        paths.addAll(u.keySet());
        for (String path : paths) {
            if (!String.valueOf(o.get(path)).equals(String.valueOf(u.get(path)))) {
                differences.add(path + ": virt-sysprep=" + o.get(path) + " ours=" + u.get(path));
            }
        }
        assertThat(differences).as("paths that differ from virt-sysprep's result").isEmpty();
        assertThat(u).doesNotContainKeys("/root/.bash_history", "/etc/ssh/ssh_host_ed25519_key", "/tmp/session.tmp")
                .containsKeys("/srv/www/index.html", "/boot/config-6.1.0-18-amd64");
    }

    @Test
    void inPlaceSparsifyGivesBackThePlainPartsWhereVirtSparsifyFailsAndIgnoresAClosedContainer() {
        JsonNode sparsify = results.get("luks-seal").path("output").path("steps").get(1).path("output");
        assertEncryptedLeftAlone(sparsify, false);
        VirtLuks.SparsifyRun virt = VirtLuks.sparsify("in-place", fixture);
        // virt-sparsify 1.48 stops with an error at the volume group inside the LUKS partition (no BLKDISCARD through
        // dm-crypt), after trimming /boot
        assertThat(virt.exitCode()).isNotZero();
        assertThat(virt.messages()).anyMatch(m -> m.contains("BLKDISCARD: Operation not supported"));
        long after = Images.allocated(sealed);
        System.out.printf("sparsify in place, encrypted guest: %d -> %d bytes; virt-sparsify %d -> %d (failed)%n",
                sealedBefore, after, virt.allocatedBefore(), virt.allocatedAfter());
        assertThat(sealedBefore - after).as("bytes given back")
                .isGreaterThanOrEqualTo(virt.allocatedBefore() - virt.allocatedAfter());
    }

    @Test
    void copySparsifyLeavesEncryptedContainersAsTheyAre() throws Exception {
        JsonNode r = results.get("luks-read");
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("SUCCEEDED");
        assertEncryptedLeftAlone(r.path("output").path("steps").get(2).path("output"), true);
        VirtLuks.SparsifyRun virt = VirtLuks.sparsify("copy", fixture);
        assertThat(virt.exitCode()).isZero();
        long ours = Images.allocated(copyOut);
        System.out.printf("sparsify copy, encrypted guest: input %d, ours %d, virt-sparsify %d bytes%n",
                Images.allocated(readOnly), ours, virt.allocatedAfter());
        // virt-sparsify fills the free space inside the containers with zeroes, which dm-crypt writes as
        // ciphertext: nothing smaller there. We leave them alone and trim what is plain.
        assertThat(ours).isLessThanOrEqualTo(virt.allocatedAfter() + (1L << 20))
                .isLessThan(Images.allocated(readOnly) - (16L << 20));
        Path rawIn = raw(readOnly);
        Path rawOut = raw(copyOut);
        // /dev/sda2 (64-300 MiB): the LUKS partition, ciphertext, byte for byte as it was
        assertThat(Images.sha256(rawOut, 64L << 20, 236L << 20)).isEqualTo(Images.sha256(rawIn, 64L << 20, 236L << 20));
        Files.delete(rawIn);
        Files.delete(rawOut);
    }

    @Test
    void resizeWithoutKeysLaysOutAndCopiesTheContainersAsVirtResizeDoes() {
        JsonNode r = results.get("luks-resize");
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("SUCCEEDED");
        VirtResizeLuks.Golden theirs = VirtResizeLuks.golden();
        assertThat(ResizeObservation.byOrigin(resizeSeen.input().facts(), resizeSeen.input().facts()))
                .as("the fixture, against the one virt-resize was run on").isEqualTo(theirs.inputFacts());
        assertThat(resizeSeen.output().table()).as("partition table").isEqualTo(theirs.table());
        assertThat(ResizeObservation.byOrigin(resizeSeen.output().facts(), resizeSeen.input().facts()))
                .as("what the observer sees on our output, against virt-resize's").isEqualTo(theirs.facts());
        assertThat(VirtResizeLuks.headChanges(resizeInput, resized)).as("first MiB, changes from the input's")
                .isEqualTo(theirs.headChanges());
        assertThat(VirtResizeLuks.copiedAsIs(resizeInput, resized, resizeSeen)).as("partitions whose bytes are the input's")
                .isEqualTo(theirs.copiedAsIs());
        // the facts are real ones: the LUKS partition grew and is still a container with the input's UUID, the
        // PV grew, the LUKS LV kept its size (virt-resize does not grow an LV whose content it cannot grow)
        assertThat(theirs.facts()).containsEntry("part2.vfs", "crypto_LUKS").containsEntry("part2.uuid", "=input:part2.uuid")
                .containsEntry("lv:datavg/secret.vfs", "crypto_LUKS")
                .containsEntry("lv:datavg/secret.size", theirs.inputFacts().get("lv:datavg/secret.size"));
        assertThat(Long.parseLong(theirs.facts().get("part2.size"))).isGreaterThan(Long.parseLong(theirs.inputFacts().get("part2.size")));
        assertThat(theirs.copiedAsIs()).containsEntry("part2", true).containsEntry("part3", false);
        // and our report says what virt-resize's summary says
        JsonNode plan = r.path("output").path("plan");
        List<String> ops = new ArrayList<>();
        plan.path("target").forEach(t -> ops.add(t.path("number").asInt() + ":" + t.path("operation").asText() + ":"
                + t.path("expandMethod").asText("-")));
        assertThat(ops).containsExactly("1:COPY:-", "2:RESIZE:-", "3:RESIZE:pvresize");
        assertThat(theirs.summary()).contains("virt-resize: /dev/sda1: This partition will be left alone.",
                "Expanding /dev/sda3 using the ‘pvresize’ method").noneMatch(l -> l.startsWith("Expanding /dev/sda2"))
                .noneMatch(l -> l.startsWith("Expanding " + LuksFixture.DATA_LV));
        List<String> grown = new ArrayList<>();
        r.path("output").path("grown").forEach(g -> grown.add(g.asText()));
        assertThat(grown).hasSize(2).anyMatch(g -> g.contains("pvresize"))
                .anyMatch(g -> g.startsWith("LV " + LuksFixture.DATA_LV + " left at its size"));
    }

    @Test
    void theResizedGuestsContainersOpenWithTheirKeysAndHoldEveryFile() {
        assertThat(resizeSeen).as("the resize succeeded and was observed").isNotNull();
        assertThat(resizeSeen.inputFiles().get("/")).contains("/srv/www/index.html").contains("/etc/hostname")
                .contains("/boot/config-6.1.0-18-amd64");
        assertThat(resizeSeen.outputFiles()).isEqualTo(resizeSeen.inputFiles());
        assertThat(resizeSeen.outputFiles().get("containers"))
                .isEqualTo("root " + fixture.rootLuksUuid() + " data " + fixture.dataLuksUuid());
    }

    /** Opened containers, what they hold and the VG inside the partition are ENCRYPTED; /boot and datavg's free space go. */
    private void assertEncryptedLeftAlone(JsonNode report, boolean bothKeys) {
        Map<String, String> fs = new TreeMap<>();
        report.path("filesystems").forEach(f -> fs.put(f.path("device").asText(), f.path("action").asText()));
        Map<String, String> vgs = new TreeMap<>();
        report.path("volumeGroups").forEach(v -> vgs.put(v.path("name").asText(), v.path("action").asText()));
        assertThat(fs).as(report.toString()).containsEntry(LuksFixture.ROOT_PART, "ENCRYPTED")
                .containsEntry("/dev/cryptvg/root", "ENCRYPTED").containsEntry("/dev/sda1", "TRIMMED");
        if (bothKeys) {
            assertThat(fs).containsEntry(LuksFixture.DATA_LV, "ENCRYPTED")
                    .containsEntry("/dev/mapper/luks-" + fixture.dataLuksUuid(), "ENCRYPTED");
        } else {
            // no key applied to it: left closed, and in 'ignore'
            assertThat(fs).containsEntry(LuksFixture.DATA_LV, "IGNORED")
                    .doesNotContainKey("/dev/mapper/luks-" + fixture.dataLuksUuid());
        }
        assertThat(vgs).containsEntry("cryptvg", "encrypted");
        assertThat(vgs.get("datavg")).isIn("free-space-cleared", "discarded");
    }

    private static String job(String id, String type, Path disk, String rest) {
        return "{\"jobId\":\"" + id + "\",\"type\":\"" + type + "\",\"disks\":[{\"uri\":\""
                + disk.toUri() + "\",\"format\":\"qcow2\"}]" + rest + "}";
    }

    private static String keys(String... deviceFile) {
        StringBuilder b = new StringBuilder("\"keys\":[");
        for (int i = 0; i < deviceFile.length; i += 2) {
            b.append(i == 0 ? "" : ",").append("{\"device\":\"").append(deviceFile[i]).append("\",\"file\":\"")
                    .append(deviceFile[i + 1]).append("\"}");
        }
        return b.append(']').toString();
    }

    /** A journal record as virt-log prints its entry ({@code MMM dd HH:mm:ss ID[PID] prio: MESSAGE}, UTC here). */
    private static String virtLogLine(JsonNode r) {
        JsonNode f = r.path("fields");
        Instant t = Instant.ofEpochSecond(0, r.path("realtimeUsec").asLong() * 1000);
        String prio = f.path("PRIORITY").asText("");
        // an entry without PRIORITY shows as info
        return VIRT_LOG_TIME.format(t) + " " + f.path("SYSLOG_IDENTIFIER").asText() + "[" + f.path("_PID").asText() + "] "
                + (prio.matches("[0-7]") ? PRIORITIES[Integer.parseInt(prio)] : "info") + ": " + r.path("message").asText();
    }

    private Path raw(Path qcow2) {
        Path to = work.resolve(qcow2.getFileName() + "-" + System.nanoTime() + ".raw");
        VirtTool.run(Duration.ofMinutes(5), "qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw", qcow2.toString(),
                to.toString()).orFail("qemu-img convert");
        return to;
    }
}
