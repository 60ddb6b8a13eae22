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
}
