package io.guestflow.processors.inspect;

import io.guestflow.processors.inspect.InspectionReport.Application;
import io.guestflow.processors.inspect.InspectionReport.Filesystem;
import io.guestflow.processors.inspect.InspectionReport.Mountpoint;
import io.guestflow.processors.inspect.InspectionReport.OperatingSystem;
import java.util.Map;

/**
 * Renders a report in virt-inspector's XML (its RELAX NG schema
 * {@code virt-inspector.rng}): same elements, order and indentation, so
 * tooling that parses virt-inspector output keeps working.
 */
public final class InspectionXml {
    private final StringBuilder out = new StringBuilder();
    private int depth;

    private InspectionXml() {
    }

    public static String render(InspectionReport report) {
        InspectionXml x = new InspectionXml();
        x.out.append("<?xml version=\"1.0\"?>\n");
        if (report.operatingSystems().isEmpty()) {
            x.out.append("<operatingsystems/>\n");
        } else {
            x.open("operatingsystems");
            report.operatingSystems().forEach(x::os);
            x.close("operatingsystems");
        }
        return x.out.toString();
    }

    private void os(OperatingSystem o) {
        open("operatingsystem");
        element("root", o.root());
        element("name", o.type());
        element("arch", o.arch());
        element("distro", o.distro());
        element("product_name", o.productName());
        element("product_variant", o.productVariant());
        element("major_version", Integer.toString(o.majorVersion()));
        element("minor_version", Integer.toString(o.minorVersion()));
        element("package_format", o.packageFormat());
        element("package_management", o.packageManagement());
        element("windows_systemroot", o.windowsSystemroot());
        element("windows_current_control_set", o.windowsCurrentControlSet());
        element("hostname", o.hostname());
        element("osinfo", o.osinfo());
        if (o.mountpoints().isEmpty()) {
            empty("mountpoints");
        } else {
            open("mountpoints");
            for (Mountpoint m : o.mountpoints()) {
                indent().append("<mountpoint dev=\"").append(escape(m.device())).append("\">")
                        .append(escape(m.path())).append("</mountpoint>\n");
            }
            close("mountpoints");
        }
        if (o.filesystems().isEmpty()) {
            empty("filesystems");
        } else {
            open("filesystems");
            for (Filesystem f : o.filesystems()) {
                if (f.type() == null && f.label() == null && f.uuid() == null) {
                    indent().append("<filesystem dev=\"").append(escape(f.device())).append("\"/>\n");
                    continue;
                }
                indent().append("<filesystem dev=\"").append(escape(f.device())).append("\">\n");
                depth++;
                element("type", f.type());
                element("label", f.label());
                element("uuid", f.uuid());
                close("filesystem");
            }
            close("filesystems");
        }
        if (o.driveMappings() != null) {
            open("drive_mappings");
            for (Map.Entry<String, String> e : o.driveMappings().entrySet()) {
                indent().append("<drive_mapping name=\"").append(escape(e.getKey())).append("\">")
                        .append(escape(e.getValue())).append("</drive_mapping>\n");
            }
            close("drive_mappings");
        }
        if (o.applications() != null) {
            if (o.applications().isEmpty()) {
                empty("applications");
            } else {
                open("applications");
                o.applications().forEach(this::application);
                close("applications");
            }
        }
        close("operatingsystem");
    }

    private void application(Application a) {
        open("application");
        element("name", a.name());
        element("display_name", a.displayName());
        element("epoch", a.epoch() == null ? null : a.epoch().toString());
        element("version", a.version());
        element("release", a.release());
        element("arch", a.arch());
        element("install_path", a.installPath());
        element("publisher", a.publisher());
        element("url", a.url());
        element("source_package", a.sourcePackage());
        element("summary", a.summary());
        element("description", a.description());
        close("application");
    }

    private StringBuilder indent() {
        return out.append("  ".repeat(depth));
    }

    private void open(String name) {
        indent().append('<').append(name).append(">\n");
        depth++;
    }

    private void close(String name) {
        depth--;
        indent().append("</").append(name).append(">\n");
    }

    private void empty(String name) {
        indent().append('<').append(name).append("/>\n");
    }

    private void element(String name, String value) {
        if (value != null) {
            indent().append('<').append(name).append('>').append(escape(value)).append("</").append(name).append(">\n");
        }
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> {
                    // XML 1.0 cannot carry most control characters; libxml2 writes them as references
                    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
                        b.append("&#").append((int) c).append(';');
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }
}
