package io.guestflow.tests;

import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.processors.inspect.InspectionReport.Application;
import io.guestflow.processors.inspect.InspectionReport.Filesystem;
import io.guestflow.processors.inspect.InspectionReport.Mountpoint;
import io.guestflow.processors.inspect.InspectionReport.OperatingSystem;
import io.guestflow.samples.SampleGuests;
import io.guestflow.samples.SampleGuests.Image;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
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
 * The oracle for inspection: virt-inspector's XML on the sample guests, kept
 * as golden files ({@link Oracles}, folder {@code virt-inspector/}, one
 * {@code <guest>.xml} each) and made again by {@code make oracles} from
 * freshly built fixtures of the current recipe.
 */
public final class VirtInspector {
    static final String TOOL = "virt-inspector";

    /** The guests virt-inspector's answers are kept for, with their disks in attach order. */
    enum Guest {
        BLANK("blank", Image.BLANK_EXT4),
        DEBIAN_LVM("debian-lvm", Image.DEBIAN_LVM),
        MULTIDISK("multidisk", Image.MULTIDISK_ROOT, Image.MULTIDISK_HOME),
        MULTIBOOT("multiboot", Image.MULTIBOOT),
        /** The Debian guest with the sysprep fixtures' clutter: what the pipeline tests seal. */
        SYSPREP_DEBIAN("sysprep-debian");

        final String name;
        private final List<Image> samples;

        Guest(String name, Image... samples) {
            this.name = name;
            this.samples = List.of(samples);
        }

        /** The guest's disk images, built first when the cache lacks them. */
        List<Path> disks() {
            if (this == SYSPREP_DEBIAN) {
                return List.of(SysprepFixtures.dir().resolve(SysprepFixtures.DEBIAN));
            }
            return samples.stream().map(Fixtures::image).toList();
        }
    }

    /** virt-inspector's XML for one guest, and the same as our report model. */
    public record Answer(String xml) {
        public InspectionReport report() {
            return parse(xml);
        }
    }

    private VirtInspector() {
    }

    /** The fixtures the golden answers must have been made from. */
    static String recipe() {
        return "samples-v" + SampleGuests.RECIPE_VERSION + "+sysprep-v" + SysprepFixtures.RECIPE;
    }

    /** virt-inspector's answer for {@code guest}, from the golden file. */
    static Answer golden(Guest guest) {
        return new Answer(Oracles.read(TOOL, recipe(), guest.name + ".xml"));
    }

    /** Runs virt-inspector on every guest of the current fixtures: the golden files, by name. */
    static Map<String, String> regenerate() {
        Map<String, String> files = new LinkedHashMap<>();
        for (Guest guest : Guest.values()) {
            List<String> cmd = new ArrayList<>(List.of(TOOL));
            for (Path disk : guest.disks()) {
                cmd.add("-a");
                cmd.add(disk.toString());
            }
            VirtTool.Result r = VirtTool.run(Duration.ofMinutes(10), cmd).orFail("virt-inspector on " + guest.name);
            parse(r.stdout()); // a golden file must at least be XML we can read
            files.put(guest.name + ".xml", r.stdout());
        }
        return files;
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
