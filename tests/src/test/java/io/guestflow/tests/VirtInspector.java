package io.guestflow.tests;

import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.processors.inspect.InspectionReport.Application;
import io.guestflow.processors.inspect.InspectionReport.Filesystem;
import io.guestflow.processors.inspect.InspectionReport.Mountpoint;
import io.guestflow.processors.inspect.InspectionReport.OperatingSystem;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.time.Duration;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * The oracle: the installed virt-inspector, run on the same images. Outputs
 * are cached by the images' content hash and virt-inspector's version (a run
 * costs a full appliance launch), under {@code ~/.cache/guestflow/oracle}.
 */
public final class VirtInspector {

    /** What virt-inspector printed and how it exited. */
    public record Run(int exitCode, String xml, String stderr) {
        public InspectionReport report() {
            return parse(xml);
        }
    }

    private VirtInspector() {
    }

    public static Run inspect(Path... images) {
        try {
            StringBuilder key = new StringBuilder(VirtTool.version("virt-inspector"));
            for (Path p : images) {
                key.append('/').append(Fixtures.sha256(p));
            }
            Path cache = Fixtures.cacheRoot().resolve("oracle").resolve("virt-inspector")
                    .resolve(VirtTool.key(key.toString()));
            Path xml = cache.resolve("out.xml");
            Path code = cache.resolve("exit");
            Path err = cache.resolve("err");
            if (Files.exists(code)) {
                return new Run(Integer.parseInt(Files.readString(code).strip()), Files.readString(xml), Files.readString(err));
            }
            List<String> cmd = new ArrayList<>(List.of("virt-inspector"));
            for (Path p : images) {
                cmd.add("-a");
                cmd.add(p.toString());
            }
            VirtTool.Result r = VirtTool.run(Duration.ofMinutes(10), cmd);
            Run run = new Run(r.exitCode(), r.stdout(), r.stderr());
            Files.createDirectories(cache);
            Files.writeString(xml, run.xml());
            Files.writeString(err, run.stderr());
            Files.writeString(code, Integer.toString(run.exitCode()));
            return run;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads virt-inspector XML into the same model our operation returns. */
    public static InspectionReport parse(String xml) {
        try {
            Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                    .parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
            List<OperatingSystem> oses = new ArrayList<>();
            for (Element os : children(doc.getDocumentElement(), "operatingsystem")) {
                oses.add(new OperatingSystem(
                        text(os, "root"), text(os, "name"), text(os, "arch"), text(os, "distro"),
                        text(os, "product_name"), text(os, "product_variant"),
                        Integer.parseInt(text(os, "major_version")), Integer.parseInt(text(os, "minor_version")),
                        text(os, "package_format"), text(os, "package_management"), text(os, "hostname"),
                        text(os, "osinfo"), text(os, "windows_systemroot"), text(os, "windows_current_control_set"),
                        driveMappings(os), mountpoints(os), filesystems(os), applications(os)));
            }
            return new InspectionReport(oses);
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot parse virt-inspector XML: " + e.getMessage() + "\n" + xml, e);
        }
    }

    private static Map<String, String> driveMappings(Element os) {
        Element dm = child(os, "drive_mappings");
        if (dm == null) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Element m : children(dm, "drive_mapping")) {
            out.put(m.getAttribute("name"), m.getTextContent());
        }
        return out;
    }

    private static List<Mountpoint> mountpoints(Element os) {
        List<Mountpoint> out = new ArrayList<>();
        Element mps = child(os, "mountpoints");
        if (mps != null) {
            for (Element m : children(mps, "mountpoint")) {
                out.add(new Mountpoint(m.getAttribute("dev"), m.getTextContent()));
            }
        }
        return out;
    }

    private static List<Filesystem> filesystems(Element os) {
        List<Filesystem> out = new ArrayList<>();
        Element fss = child(os, "filesystems");
        if (fss != null) {
            for (Element f : children(fss, "filesystem")) {
                out.add(new Filesystem(f.getAttribute("dev"), text(f, "type"), text(f, "label"), text(f, "uuid")));
            }
        }
        return out;
    }

    private static List<Application> applications(Element os) {
        Element apps = child(os, "applications");
        if (apps == null) {
            return null;
        }
        List<Application> out = new ArrayList<>();
        for (Element a : children(apps, "application")) {
            String epoch = text(a, "epoch");
            out.add(new Application(text(a, "name"), text(a, "display_name"),
                    epoch == null ? null : Integer.valueOf(epoch), text(a, "version"), text(a, "release"),
                    text(a, "arch"), text(a, "install_path"), text(a, "publisher"), text(a, "url"),
                    text(a, "source_package"), text(a, "summary"), text(a, "description")));
        }
        return out;
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        NodeList nl = parent.getChildNodes();
        for (int i = 0; i < nl.getLength(); i++) {
            Node n = nl.item(i);
            if (n instanceof Element e && e.getTagName().equals(name)) {
                out.add(e);
            }
        }
        return out;
    }

    private static Element child(Element parent, String name) {
        List<Element> c = children(parent, name);
        return c.isEmpty() ? null : c.get(0);
    }

    private static String text(Element parent, String name) {
        Element c = child(parent, name);
        return c == null ? null : c.getTextContent();
    }
}
