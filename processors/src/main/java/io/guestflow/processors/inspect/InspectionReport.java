package io.guestflow.processors.inspect;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;
import java.util.Map;

/**
 * What inspection found on one guest's disks: one entry per operating
 * system (several for multi-boot images, none when there is no OS — not an
 * error). Mirrors virt-inspector's XML; JSON Schema in
 * {@code config/schemas/inspection-result.schema.json}. Values libguestfs
 * reports as "unknown" are left out ({@code null}).
 */
public record InspectionReport(List<OperatingSystem> operatingSystems) {

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"root", "type", "arch", "distro", "productName", "productVariant", "majorVersion",
            "minorVersion", "packageFormat", "packageManagement", "hostname", "osinfo", "windowsSystemroot",
            "windowsCurrentControlSet", "driveMappings", "mountpoints", "filesystems", "applications"})
    public record OperatingSystem(
            String root,
            String type,
            String arch,
            String distro,
            String productName,
            String productVariant,
            int majorVersion,
            int minorVersion,
            String packageFormat,
            String packageManagement,
            String hostname,
            String osinfo,
            String windowsSystemroot,
            String windowsCurrentControlSet,
            Map<String, String> driveMappings,
            List<Mountpoint> mountpoints,
            List<Filesystem> filesystems,
            /** null when applications were not asked for */
            List<Application> applications) {
    }

    /** A mountpoint from the guest's fstab (or registry), with its canonical device. */
    public record Mountpoint(String device, String path) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Filesystem(String device, String type, String label, String uuid) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Application(String name, String displayName, Integer epoch, String version, String release,
                              String arch, String installPath, String publisher, String url,
                              String sourcePackage, String summary, String description) {
    }
}
