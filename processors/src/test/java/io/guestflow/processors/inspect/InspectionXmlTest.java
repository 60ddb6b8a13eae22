package io.guestflow.processors.inspect;

import static org.assertj.core.api.Assertions.assertThat;

import io.guestflow.processors.inspect.InspectionReport.Application;
import io.guestflow.processors.inspect.InspectionReport.Filesystem;
import io.guestflow.processors.inspect.InspectionReport.Mountpoint;
import io.guestflow.processors.inspect.InspectionReport.OperatingSystem;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The XML layout for guests we cannot build here (Windows), checked against virt-inspector's element order. */
class InspectionXmlTest {

    @Test
    void noOperatingSystemIsAnEmptyElement() {
        assertThat(InspectionXml.render(new InspectionReport(List.of())))
                .isEqualTo("<?xml version=\"1.0\"?>\n<operatingsystems/>\n");
    }

    @Test
    void windowsGuestCarriesSystemrootControlSetAndDriveMappings() {
        Map<String, String> drives = new LinkedHashMap<>();
        drives.put("C", "/dev/sda2");
        drives.put("E", "/dev/sdb1");
        OperatingSystem win = new OperatingSystem("/dev/sda2", "windows", "x86_64", "windows",
                "Windows Server 2019 Standard", "Server", 10, 0, null, null, "WIN-01", "win2k19",
                "/Windows", "ControlSet001", drives,
                List.of(new Mountpoint("/dev/sda2", "/")),
                List.of(new Filesystem("/dev/sda1", "ntfs", "System Reserved", "5A1C2B3D")),
                List.of(new Application("Mozilla Firefox", "Mozilla Firefox (x64 en-US)", null, "115.0", null, null,
                        "C:\\Program Files\\Mozilla Firefox", "Mozilla & Co <x>", null, null, null, null)));
        String xml = InspectionXml.render(new InspectionReport(List.of(win)));
        assertThat(xml).containsSubsequence(
                "<root>/dev/sda2</root>", "<name>windows</name>", "<product_variant>Server</product_variant>",
                "<major_version>10</major_version>", "<windows_systemroot>/Windows</windows_systemroot>",
                "<windows_current_control_set>ControlSet001</windows_current_control_set>",
                "<hostname>WIN-01</hostname>", "<osinfo>win2k19</osinfo>", "<mountpoints>", "<filesystems>",
                "<drive_mappings>", "<drive_mapping name=\"C\">/dev/sda2</drive_mapping>",
                "<drive_mapping name=\"E\">/dev/sdb1</drive_mapping>", "<applications>",
                "<display_name>Mozilla Firefox (x64 en-US)</display_name>",
                "<install_path>C:\\Program Files\\Mozilla Firefox</install_path>",
                "<publisher>Mozilla &amp; Co &lt;x&gt;</publisher>");
        assertThat(xml).doesNotContain("<package_format>").doesNotContain("<epoch>");
    }

    @Test
    void skippedApplicationsLeaveNoElement() {
        OperatingSystem os = new OperatingSystem("/dev/sda1", "linux", null, null, null, null, 0, 0, null, null,
                null, null, null, null, null, List.of(), List.of(new Filesystem("/dev/sda1", null, null, null)), null);
        String xml = InspectionXml.render(new InspectionReport(List.of(os)));
        assertThat(xml).doesNotContain("applications").contains("<mountpoints/>")
                .contains("<filesystem dev=\"/dev/sda1\"/>").doesNotContain("<arch>");
    }

    /** The whole document, byte for byte: indentation, empty elements, and libxml2's escaping of hostile text. */
    @Test
    void wholeDocumentWithHostileText() {
        Map<String, String> drives = new LinkedHashMap<>();
        drives.put("C\u0001\"<&>", "/dev/sda2");
        OperatingSystem os = new OperatingSystem("/dev/sda1", "linux", "x86_64", "debian", "say \"hi\" & <bye>\u0007",
                null, 12, 0, "deb", "apt", "tab\there\nline", null, null, null, drives,
                List.of(new Mountpoint("/dev/sda1\"", "/")),
                List.of(new Filesystem("/dev/sda1", "ext4", "l\u001fbl", "u-1"), new Filesystem("/dev/sda2", null, null, null)),
                List.of(new Application("bash", null, 1, "5.2", "15", "amd64", null, null, "http://x/?a=1&b=2", null,
                        "GNU \"Bourne\" shell", null)));
        assertThat(InspectionXml.render(new InspectionReport(List.of(os)))).isEqualTo("""
                <?xml version="1.0"?>
                <operatingsystems>
                  <operatingsystem>
                    <root>/dev/sda1</root>
                    <name>linux</name>
                    <arch>x86_64</arch>
                    <distro>debian</distro>
                    <product_name>say &quot;hi&quot; &amp; &lt;bye&gt;&#7;</product_name>
                    <major_version>12</major_version>
                    <minor_version>0</minor_version>
                    <package_format>deb</package_format>
                    <package_management>apt</package_management>
                    <hostname>tab\there
                line</hostname>
                    <mountpoints>
                      <mountpoint dev="/dev/sda1&quot;">/</mountpoint>
                    </mountpoints>
                    <filesystems>
                      <filesystem dev="/dev/sda1">
                        <type>ext4</type>
                        <label>l&#31;bl</label>
                        <uuid>u-1</uuid>
                      </filesystem>
                      <filesystem dev="/dev/sda2"/>
                    </filesystems>
                    <drive_mappings>
                      <drive_mapping name="C&#1;&quot;&lt;&amp;&gt;">/dev/sda2</drive_mapping>
                    </drive_mappings>
                    <applications>
                      <application>
                        <name>bash</name>
                        <epoch>1</epoch>
                        <version>5.2</version>
                        <release>15</release>
                        <arch>amd64</arch>
                        <url>http://x/?a=1&amp;b=2</url>
                        <summary>GNU &quot;Bourne&quot; shell</summary>
                      </application>
                    </applications>
                  </operatingsystem>
                </operatingsystems>
                """);
    }
}
