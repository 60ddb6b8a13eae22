package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.cli.GuestflowCli;
import io.guestflow.pool.Drive;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.processors.inspect.InspectOperation;
import io.guestflow.processors.inspect.InspectOptions;
import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.processors.inspect.InspectionReport.OperatingSystem;
import io.guestflow.processors.inspect.InspectionXml;
import io.guestflow.samples.SampleGuests.Image;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Our inspection against the installed virt-inspector on the same fixture
 * images, compared fact by fact (not as strings), plus facts we know the
 * fixtures hold, so that both tools being wrong the same way still fails.
 */
class InspectDifferentialTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static HandlePool pool;
    private static List<Path> tmpBefore;
    private static List<Path> handleDirsBefore;

    @BeforeAll
    static void setUp() {
        tmpBefore = Leftovers.libguestfsTmpDirs();
        Fixtures.images();
        pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
        handleDirsBefore = Leftovers.handleDirs(pool.config().tmpDir());
    }

    @AfterAll
    static void tearDown() {
        pool.close();
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isEmpty();
        assertThat(Leftovers.libguestfsTmpDirs()).as("/tmp/libguestfs* left behind").isSubsetOf(tmpBefore);
        assertThat(Leftovers.handleDirs(pool.config().tmpDir())).as("handle directories left behind")
                .isSubsetOf(handleDirsBefore);
    }

    private static InspectionReport inspect(Path... images) {
        List<Drive> drives = Arrays.stream(images).map(p -> Drive.of(p.toString())).toList();
        InspectOperation op = new InspectOperation(InspectOptions.defaults());
        return pool.run("test-inspect", drives, Duration.ofMinutes(10), GuestEventListener.NONE, h -> op.run(h.gfs()));
    }

    /** The CLI's JSON path end to end: bin/guestflow inspect on the LVM guest, in-process. */
    @Test
    void cliInspectOfLvmGuestReportsTheSameFactsAsVirtInspector() throws Exception {
        Path image = Fixtures.image(Image.DEBIAN_LVM);
        String before = Fixtures.sha256(image);

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream saved = System.out;
        int exit;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            exit = GuestflowCli.commandLine().execute("inspect", image.toString());
        } finally {
            System.setOut(saved);
        }
        assertThat(exit).isZero();
        String json = out.toString(StandardCharsets.UTF_8);
        InspectionReport ours = JSON.readValue(json, InspectionReport.class);
        VirtInspector.Run oracle = VirtInspector.inspect(image);
        assertThat(oracle.exitCode()).as("virt-inspector exit; stderr: %s", oracle.stderr()).isZero();

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

        assertValidAgainstSchema(json);
        assertThat(Fixtures.sha256(image)).as("inspection must not write the image").isEqualTo(before);
    }

    @Test
    void multiDiskGuestMatchesVirtInspector() {
        Path root = Fixtures.image(Image.MULTIDISK_ROOT);
        Path home = Fixtures.image(Image.MULTIDISK_HOME);
        InspectionReport ours = inspect(root, home);
        VirtInspector.Run oracle = VirtInspector.inspect(root, home);
        assertThat(oracle.exitCode()).as("virt-inspector stderr: %s", oracle.stderr()).isZero();
        assertSameFacts(ours, oracle.report());

        OperatingSystem os = ours.operatingSystems().get(0);
        assertThat(os.hostname()).isEqualTo("db01");
        assertThat(os.distro()).isEqualTo("ubuntu");
        assertThat(os.mountpoints()).contains(new InspectionReport.Mountpoint("/dev/sdb1", "/home"));
    }

    @Test
    void multiBootImageYieldsOneEntryPerOperatingSystem() {
        Path image = Fixtures.image(Image.MULTIBOOT);
        InspectionReport ours = inspect(image);
        VirtInspector.Run oracle = VirtInspector.inspect(image);
        assertThat(oracle.exitCode()).as("virt-inspector stderr: %s", oracle.stderr()).isZero();
        assertSameFacts(ours, oracle.report());
        assertThat(ours.operatingSystems()).extracting(OperatingSystem::hostname).containsExactlyInAnyOrder("alpha", "beta");
        assertThat(ours.operatingSystems()).extracting(OperatingSystem::distro).containsExactlyInAnyOrder("debian", "ubuntu");
    }

    @Test
    void diskWithoutOperatingSystemIsAnEmptySuccess() {
        Path image = Fixtures.image(Image.BLANK_EXT4);
        InspectionReport ours = inspect(image);
        assertThat(ours.operatingSystems()).isEmpty();
        VirtInspector.Run oracle = VirtInspector.inspect(image);
        assertThat(oracle.exitCode()).as("virt-inspector stderr: %s", oracle.stderr()).isZero();
        assertSameFacts(ours, oracle.report());
        assertThat(InspectionXml.render(ours)).isEqualTo(oracle.xml()).contains("<operatingsystems/>");
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

    static void assertValidAgainstSchema(String json) throws Exception {
        Schemas.assertValid("inspection-result.schema.json", JSON.readTree(json));
    }
}
