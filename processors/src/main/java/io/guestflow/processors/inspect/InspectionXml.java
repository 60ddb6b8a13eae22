package io.guestflow.processors.inspect;

import io.guestflow.processors.inspect.InspectionReport.Application;
import io.guestflow.processors.inspect.InspectionReport.Filesystem;
import io.guestflow.processors.inspect.InspectionReport.Mountpoint;
import io.guestflow.processors.inspect.InspectionReport.OperatingSystem;
import java.io.FilterWriter;
import java.io.IOException;
import java.io.StringWriter;
import java.io.Writer;
import java.util.Map;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * Renders a report in virt-inspector's XML (its RELAX NG schema
 * {@code virt-inspector.rng}): same elements, order and indentation, so
 * tooling that parses virt-inspector output keeps working. StAX writes the
 * markup and escapes {@code < > &} (and {@code "} in attributes); two
 * habits of libxml2, which virt-inspector writes with, are added: a
 * {@code "} in text becomes {@code &quot;}, and control characters, which
 * XML 1.0 cannot carry, become character references.
 */
public final class InspectionXml {
    private static final XMLOutputFactory FACTORY = XMLOutputFactory.newFactory();

    private final XMLStreamWriter xml;
    private int depth;

    private InspectionXml(XMLStreamWriter xml) {
        this.xml = xml;
    }

    public static String render(InspectionReport report) {
        StringWriter out = new StringWriter();
        // virt-inspector's declaration names no encoding; StAX's own would add a space before "?>"
        out.write("<?xml version=\"1.0\"?>\n");
        try {
            XMLStreamWriter w = FACTORY.createXMLStreamWriter(new ControlCharacterReferences(out));
            new InspectionXml(w).document(report);
            w.close();
        } catch (XMLStreamException e) {
            throw new IllegalStateException("writing XML to memory failed", e);
        }
        return out.toString();
    }

    private void document(InspectionReport report) throws XMLStreamException {
        if (report.operatingSystems().isEmpty()) {
            empty("operatingsystems");
            return;
        }
        open("operatingsystems");
        for (OperatingSystem o : report.operatingSystems()) {
            os(o);
        }
        close();
    }

    private void os(OperatingSystem o) throws XMLStreamException {
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
                element("mountpoint", "dev", m.device(), m.path());
            }
            close();
        }
        if (o.filesystems().isEmpty()) {
            empty("filesystems");
        } else {
            open("filesystems");
            for (Filesystem f : o.filesystems()) {
                filesystem(f);
            }
            close();
        }
        if (o.driveMappings() != null) {
            open("drive_mappings");
            for (Map.Entry<String, String> e : o.driveMappings().entrySet()) {
                element("drive_mapping", "name", e.getKey(), e.getValue());
            }
            close();
        }
        if (o.applications() != null) {
            if (o.applications().isEmpty()) {
                empty("applications");
            } else {
                open("applications");
                for (Application a : o.applications()) {
                    application(a);
                }
                close();
            }
        }
        close();
    }

    private void filesystem(Filesystem f) throws XMLStreamException {
        if (f.type() == null && f.label() == null && f.uuid() == null) {
            indent();
            xml.writeEmptyElement("filesystem");
            xml.writeAttribute("dev", f.device());
            xml.writeCharacters("\n");
            return;
        }
        open("filesystem", "dev", f.device());
        element("type", f.type());
        element("label", f.label());
        element("uuid", f.uuid());
        close();
    }

    private void application(Application a) throws XMLStreamException {
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
        close();
    }

    private void indent() throws XMLStreamException {
        xml.writeCharacters("  ".repeat(depth));
    }

    private void open(String name) throws XMLStreamException {
        open(name, null, null);
    }

    private void open(String name, String attribute, String value) throws XMLStreamException {
        indent();
        xml.writeStartElement(name);
        if (attribute != null) {
            xml.writeAttribute(attribute, value);
        }
        xml.writeCharacters("\n");
        depth++;
    }

    private void close() throws XMLStreamException {
        depth--;
        indent();
        xml.writeEndElement();
        xml.writeCharacters("\n");
    }

    private void empty(String name) throws XMLStreamException {
        indent();
        xml.writeEmptyElement(name);
        xml.writeCharacters("\n");
    }

    private void element(String name, String value) throws XMLStreamException {
        element(name, null, null, value);
    }

    /** {@code <name attribute="attributeValue">value</name>} on a line of its own; nothing for a null value. */
    private void element(String name, String attribute, String attributeValue, String value) throws XMLStreamException {
        if (value == null) {
            return;
        }
        indent();
        xml.writeStartElement(name);
        if (attribute != null) {
            xml.writeAttribute(attribute, attributeValue);
        }
        text(value);
        xml.writeEndElement();
        xml.writeCharacters("\n");
    }

    /** Text with {@code "} as {@code &quot;}, as libxml2 writes it (StAX leaves it as is in text). */
    private void text(String value) throws XMLStreamException {
        int from = 0;
        for (int q = value.indexOf('"'); q >= 0; q = value.indexOf('"', from)) {
            xml.writeCharacters(value.substring(from, q));
            xml.writeEntityRef("quot");
            from = q + 1;
        }
        xml.writeCharacters(value.substring(from));
    }

    /**
     * Turns the control characters StAX passes through raw (XML 1.0 cannot
     * carry them) into character references, as libxml2 does. The markup
     * written here holds none of its own, so only guest text is touched.
     */
    static final class ControlCharacterReferences extends FilterWriter {
        ControlCharacterReferences(Writer out) {
            super(out);
        }

        @Override
        public void write(int c) throws IOException {
            if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
                out.write("&#" + c + ';');
            } else {
                out.write(c);
            }
        }

        @Override
        public void write(char[] buf, int off, int len) throws IOException {
            for (int i = off; i < off + len; i++) {
                write(buf[i]);
            }
        }

        @Override
        public void write(String s, int off, int len) throws IOException {
            for (int i = off; i < off + len; i++) {
                write(s.charAt(i));
            }
        }
    }
}
