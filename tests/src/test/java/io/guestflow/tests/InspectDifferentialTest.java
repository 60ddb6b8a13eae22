package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.cli.GuestflowCli;
import io.guestflow.pool.FileTrees;
import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.processors.inspect.InspectionReport.OperatingSystem;
import io.guestflow.processors.inspect.InspectionXml;
import io.guestflow.samples.SampleGuests.Image;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Our inspection against virt-inspector's answers on the same fixture images
 * (golden files made by {@code make oracles}, see {@link VirtInspector}),
 * compared fact by fact, plus facts we know the fixtures hold, so that both
 * tools being wrong the same way still fails. Inspected alone and in batches:
 *
 * <ul>
 *   <li>{@code bin/guestflow inspect} (in-process) on the two-disk Ubuntu guest alone;</li>
 *   <li>seven inspect jobs produced together through Kafka reach one consumer in
 *       one poll: a guest without an OS, the multi-boot guest whose fstab says
 *       /dev/sda1 and /dev/sda2, the Debian LVM guest and a byte copy of it
 *       (same VG name, PV and filesystem UUIDs), the two-disk Ubuntu guest
 *       (plain partitions) and a byte copy of both its disks, and a corrupt
 *       image. Batching never changes an answer: each guest's result must
 *       equal virt-inspector's for that guest alone, and, for the two-disk
 *       guest and its copy, whose disks are renamed in the shared appliance,
 *       the JSON of the same guest inspected alone by the command line. The
 *       clones share the launch with their originals (the LVM clone in a second
 *       LVM-filtered pass). The Debian LVM guest is also checked against the
 *       facts we know it holds.</li>
 * </ul>
 *
 * <p>Launches: 1 for the command line; 1 shared by the batch, 1 for the
 * multi-boot guest, which the batch sends alone (its /dev/sda1 would be
 * another guest's disk). The corrupt image is refused before any launch. That a job alone in its poll carries no batch metadata
 * is checked by {@code EngineTest}, whose first job is one.
 */
@Tag("appliance")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InspectDifferentialTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofMinutes(25);

    private Path work;
    private List<Path> tmpBefore;
    private TestEngine engine;
    private List<Path> handleDirsBefore;
    private String cliJson;
    private int cliExit;
    private List<String> multidiskSha;
    private Map<String, JsonNode> batched;
    private long batchLaunches;

    @BeforeAll
    void inspectAloneAndInABatch() throws Exception {
        tmpBefore = Leftovers.libguestfsTmpDirs();
        List<Path> multidisk = List.of(Fixtures.image(Image.MULTIDISK_ROOT), Fixtures.image(Image.MULTIDISK_HOME));
        multidiskSha = multidisk.stream().map(Fixtures::sha256).toList();
        // the command line's JSON path end to end, the two-disk guest alone; picocli's writer, not System.out
        // (surefire's channel)
        StringWriter out = new StringWriter();
        picocli.CommandLine cli = GuestflowCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cliExit = cli.execute("inspect", multidisk.get(0).toString(), multidisk.get(1).toString());
        cliJson = out.toString();

        work = Files.createTempDirectory("guestflow-inspect-test-");
        Path images = Files.createDirectories(work.resolve("images"));
        for (Image i : List.of(Image.BLANK_EXT4, Image.MULTIBOOT, Image.DEBIAN_LVM, Image.MULTIDISK_ROOT, Image.MULTIDISK_HOME)) {
            Files.copy(Fixtures.image(i), images.resolve(i.fileName));
        }
        Files.copy(Fixtures.image(Image.DEBIAN_LVM), images.resolve("debian-lvm-clone.qcow2"));
        Files.copy(Fixtures.image(Image.MULTIDISK_ROOT), images.resolve("multidisk-root-clone.qcow2"));
        Files.copy(Fixtures.image(Image.MULTIDISK_HOME), images.resolve("multidisk-home-clone.qcow2"));
        byte[] garbage = new byte[1 << 20];
        new Random(9).nextBytes(garbage);
        Files.write(images.resolve("corrupt.qcow2"), garbage);

        // one partition keeps the jobs in the order produced: the multi-boot guest is not the batch's first
        engine = TestEngine.start(images, work, Map.of("guestflow.engine.inspect-batch-size", "8",
                "guestflow.engine.job-partitions", "1"));
        handleDirsBefore = Leftovers.handleDirs(engine.engine().pool().config().tmpDir());
        Map<String, String> jobs = new LinkedHashMap<>();
        jobs.put("blank", job("batch-blank", images.resolve(Image.BLANK_EXT4.fileName)));
        jobs.put("multiboot", job("batch-multiboot", images.resolve(Image.MULTIBOOT.fileName)));
        jobs.put("debian", job("batch-debian", images.resolve(Image.DEBIAN_LVM.fileName)));
        jobs.put("debian-clone", job("batch-debian-clone", images.resolve("debian-lvm-clone.qcow2")));
        jobs.put("multidisk", job("batch-multidisk", images.resolve(Image.MULTIDISK_ROOT.fileName),
                images.resolve(Image.MULTIDISK_HOME.fileName)));
        jobs.put("multidisk-clone", job("batch-multidisk-clone", images.resolve("multidisk-root-clone.qcow2"),
                images.resolve("multidisk-home-clone.qcow2")));
        jobs.put("corrupt", job("batch-corrupt", images.resolve("corrupt.qcow2")));

        long before = engine.engine().pool().metrics().launches();
        Map<String, String> byId = new LinkedHashMap<>();
        jobs.forEach((name, json) -> byId.put("batch-" + name, json));
        engine.submitAll(byId);
        Map<String, JsonNode> results = engine.awaitResults(byId.keySet(), TIMEOUT);
        batchLaunches = engine.engine().pool().metrics().launches() - before;
        batched = new LinkedHashMap<>();
        results.forEach((id, r) -> batched.put(id.substring("batch-".length()), r));
    }

    @AfterAll
    void stop() throws Exception {
        if (engine != null) {
            engine.close();
            assertThat(Leftovers.handleDirs(engine.engine().pool().config().tmpDir())).as("handle directories left behind")
                    .isSubsetOf(handleDirsBefore);
        }
        if (work != null) {
            FileTrees.delete(work);
        }
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isEmpty();
        Leftovers.assertNoLibguestfsDirsLeft(tmpBefore);
    }

    private static String job(String jobId, Path... disks) throws Exception {
        ObjectNode job = JSON.createObjectNode().put("jobId", jobId).put("type", "inspect");
        ArrayNode ds = job.putArray("disks");
        for (Path d : disks) {
            ds.addObject().put("uri", d.toUri().toString()).put("format", "qcow2");
        }
        job.put("timeoutSeconds", 1200);
        return JSON.writeValueAsString(job);
    }

    private InspectionReport output(JsonNode result) throws Exception {
        assertThat(result.path("status").asText()).as(result.toString()).isEqualTo("SUCCEEDED");
        return JSON.treeToValue(result.path("output"), InspectionReport.class);
    }

    /** The Debian LVM guest, inspected in an appliance it shared with its clone among others. */
    @Test
    void lvmGuestReportsTheSameFactsAsVirtInspector() throws Exception {
        InspectionReport ours = output(batched.get("debian"));
        VirtInspector.Answer oracle = VirtInspector.golden(VirtInspector.Guest.DEBIAN_LVM);

        assertSameFacts(ours, oracle.report());
        // and the XML rendering is the one virt-inspector prints, byte for byte
        assertThat(InspectionXml.render(ours)).isEqualTo(oracle.xml());

        OperatingSystem os = ours.operatingSystems().get(0);
        assertThat(os.hostname()).isEqualTo("web01");
        assertThat(os.distro()).isEqualTo("debian");
        assertThat(os.majorVersion()).isEqualTo(12);
        assertThat(os.arch()).isEqualTo("x86_64");
        assertThat(os.root()).isEqualTo("/dev/vgdeb/root");
        assertThat(os.mountpoints()).extracting(InspectionReport.Mountpoint::path).containsExactly("/", "/usr", "/boot");
        assertThat(os.applications()).extracting(InspectionReport.Application::name)
                .containsExactly("bash", "libc6", "openssh-server");
        assertThat(os.applications().get(2).epoch()).isEqualTo(1);

        Schemas.assertValid("inspection-result.schema.json", batched.get("debian").path("output"));
        assertThat(Fixtures.sha256(work.resolve("images").resolve(Image.DEBIAN_LVM.fileName)))
                .as("inspection must not write the image").isEqualTo(Fixtures.sha256(Fixtures.image(Image.DEBIAN_LVM)));
    }

    @Test
    void cliInspectOfMultiDiskGuestAloneMatchesVirtInspector() throws Exception {
        assertThat(cliExit).as("bin/guestflow inspect exit code").isZero();
        InspectionReport ours = JSON.readValue(cliJson, InspectionReport.class);
        VirtInspector.Answer oracle = VirtInspector.golden(VirtInspector.Guest.MULTIDISK);
        assertSameFacts(ours, oracle.report());
        assertThat(InspectionXml.render(ours)).isEqualTo(oracle.xml());

        OperatingSystem os = ours.operatingSystems().get(0);
        assertThat(os.hostname()).isEqualTo("db01");
        assertThat(os.distro()).isEqualTo("ubuntu");
        assertThat(os.mountpoints()).contains(new InspectionReport.Mountpoint("/dev/sdb1", "/home"));

        Schemas.assertValid("inspection-result.schema.json", JSON.readTree(cliJson));
        assertThat(List.of(Image.MULTIDISK_ROOT, Image.MULTIDISK_HOME)).extracting(i -> Fixtures.sha256(Fixtures.image(i)))
                .as("inspection must not write the images").isEqualTo(multidiskSha);
    }

    @Test
    void multiBootImageYieldsOneEntryPerOperatingSystem() throws Exception {
        InspectionReport ours = output(batched.get("multiboot"));
        VirtInspector.Answer oracle = VirtInspector.golden(VirtInspector.Guest.MULTIBOOT);
        assertSameFacts(ours, oracle.report());
        assertThat(InspectionXml.render(ours)).isEqualTo(oracle.xml());
        assertThat(ours.operatingSystems()).extracting(OperatingSystem::hostname).containsExactlyInAnyOrder("alpha", "beta");
        assertThat(ours.operatingSystems()).extracting(OperatingSystem::distro).containsExactlyInAnyOrder("debian", "ubuntu");
    }

    @Test
    void diskWithoutOperatingSystemIsAnEmptySuccess() throws Exception {
        InspectionReport ours = output(batched.get("blank"));
        assertThat(ours.operatingSystems()).isEmpty();
        VirtInspector.Answer oracle = VirtInspector.golden(VirtInspector.Guest.BLANK);
        assertSameFacts(ours, oracle.report());
        assertThat(InspectionXml.render(ours)).isEqualTo(oracle.xml()).contains("<operatingsystems/>");
    }

    @Test
    void everyBatchedResultEqualsTheResultOfInspectingThatGuestAlone() throws Exception {
        assertThat(batched.keySet()).containsExactlyInAnyOrder("blank", "multiboot", "debian", "debian-clone",
                "multidisk", "multidisk-clone", "corrupt");
        Map<String, VirtInspector.Guest> alone = new LinkedHashMap<>();
        alone.put("blank", VirtInspector.Guest.BLANK);
        alone.put("multiboot", VirtInspector.Guest.MULTIBOOT);
        alone.put("debian", VirtInspector.Guest.DEBIAN_LVM);
        // a byte copy of the Debian guest: virt-inspector's answer for it alone is the Debian guest's
        alone.put("debian-clone", VirtInspector.Guest.DEBIAN_LVM);
        alone.put("multidisk", VirtInspector.Guest.MULTIDISK);
        alone.put("multidisk-clone", VirtInspector.Guest.MULTIDISK);
        for (Map.Entry<String, VirtInspector.Guest> e : alone.entrySet()) {
            assertSameFacts(output(batched.get(e.getKey())), VirtInspector.golden(e.getValue()).report());
        }
        // the JSON a user gets is the same as from the guest inspected alone (the command line's JSON), apart from
        // timings and batch metadata; for its copy too, whose UUIDs and labels the original's disks also carry
        for (String name : List.of("multidisk", "multidisk-clone")) {
            JsonNode b = batched.get(name);
            assertThat(b.path("status").asText()).as(name).isEqualTo("SUCCEEDED");
            assertThat(b.path("output")).as(name).isEqualTo(JSON.readTree(cliJson));
        }
        // the answers are real ones, not two empty lists agreeing
        assertThat(batched.get("debian").path("output").path("operatingSystems").get(0).path("hostname").asText())
                .isEqualTo("web01");
        assertThat(batched.get("debian-clone").path("output")).isEqualTo(batched.get("debian").path("output"));
        assertThat(batched.get("multiboot").path("output").path("operatingSystems")).hasSize(2);
        assertThat(batched.get("multidisk").path("output").path("operatingSystems").get(0).path("mountpoints")
                .findValuesAsText("device")).containsExactly("/dev/sda1", "/dev/sdb1");
        assertThat(batched.get("blank").path("output").path("operatingSystems")).isEmpty();
        assertThat(batched.get("corrupt").path("status").asText()).isEqualTo("REJECTED");
        assertThat(batched.get("corrupt").path("error").path("message").asText()).isNotBlank();
    }

    @Test
    void clonesShareTheApplianceAndGuestsThatCannotRunAloneEachResultSaysHowItRan() {
        // six guests shared the launch (the corrupt image was refused before it), clones included
        for (String name : List.of("blank", "debian", "debian-clone", "multidisk", "multidisk-clone")) {
            assertThat(batched.get(name).path("batch").path("shared").asBoolean()).as(name).isTrue();
            assertThat(batched.get(name).path("batch").path("guests").asInt()).as(name).isEqualTo(6);
        }
        assertThat(batched.get("multiboot").path("batch").path("ranAloneBecause").asText())
                .contains("fstab names /dev/sda");
        assertThat(batched.get("corrupt").path("batch").path("ranAloneBecause").asText())
                .startsWith("its disks cannot be attached");
        // one shared launch, then the multi-boot guest alone; none for the clones nor the corrupt image
        assertThat(batchLaunches).isEqualTo(2);
    }

    /** Field by field, so a failure names the fact that differs. */
    static void assertSameFacts(InspectionReport ours, InspectionReport theirs) {
        assertThat(ours.operatingSystems()).as("number of operating systems").hasSameSizeAs(theirs.operatingSystems());
        for (int i = 0; i < ours.operatingSystems().size(); i++) {
            OperatingSystem a = ours.operatingSystems().get(i);
            OperatingSystem b = theirs.operatingSystems().get(i);
            String at = "OS #" + i + " (" + b.root() + "): ";
            assertThat(a.root()).as(at + "root").isEqualTo(b.root());
            assertThat(a.type()).as(at + "type").isEqualTo(b.type());
            assertThat(a.arch()).as(at + "arch").isEqualTo(b.arch());
            assertThat(a.distro()).as(at + "distro").isEqualTo(b.distro());
            assertThat(a.productName()).as(at + "product name").isEqualTo(b.productName());
            assertThat(a.productVariant()).as(at + "product variant").isEqualTo(b.productVariant());
            assertThat(a.majorVersion()).as(at + "major version").isEqualTo(b.majorVersion());
            assertThat(a.minorVersion()).as(at + "minor version").isEqualTo(b.minorVersion());
            assertThat(a.packageFormat()).as(at + "package format").isEqualTo(b.packageFormat());
            assertThat(a.packageManagement()).as(at + "package management").isEqualTo(b.packageManagement());
            assertThat(a.hostname()).as(at + "hostname").isEqualTo(b.hostname());
            assertThat(a.osinfo()).as(at + "osinfo").isEqualTo(b.osinfo());
            assertThat(a.windowsSystemroot()).as(at + "windows systemroot").isEqualTo(b.windowsSystemroot());
            assertThat(a.windowsCurrentControlSet()).as(at + "windows current control set").isEqualTo(b.windowsCurrentControlSet());
            assertThat(a.driveMappings()).as(at + "drive mappings").isEqualTo(b.driveMappings());
            assertThat(a.mountpoints()).as(at + "mountpoints").isEqualTo(b.mountpoints());
            assertThat(a.filesystems()).as(at + "filesystems").isEqualTo(b.filesystems());
            assertThat(a.applications()).as(at + "applications").isEqualTo(b.applications());
        }
    }
}
