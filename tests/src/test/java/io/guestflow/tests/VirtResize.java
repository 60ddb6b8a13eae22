package io.guestflow.tests;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.tests.ResizeFixtures.Disk;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The oracle for resize: what {@link ResizeObservation} sees on virt-resize's
 * outputs for each {@link Scenario} — partition table, partitions, content,
 * LVM, UUIDs by origin, file checksums, the first MiB — kept as golden files
 * ({@link Oracles}, folder {@code virt-resize/}: {@code <scenario>.json} and
 * {@code inspection.json}) and made again by {@code make oracles}.
 */
final class VirtResize {
    static final String TOOL = "virt-resize";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);
    /** GPT header and entries: the part of the first MiB a resize writes itself (the rest is copied). */
    static final int TABLE_BYTES = 34 * 512;

    /** One comparison: a fixture, the output size, virt-resize's options and ours (the same). */
    enum Scenario {
        MBR_EXPAND(Disk.MBR, "+128M", List.of("--expand", "/dev/sda2")),
        LVM_EXPAND_LV(Disk.LVM, "+128M", List.of("--expand", "/dev/sda2", "--lv-expand", "/dev/rsvg/root")),
        GPT_EXPAND_RESIZE(Disk.GPT, "+96M", List.of("--expand", "/dev/sda2", "--resize", "/dev/sda3=+8M",
                "--resize", "/dev/sda4=+32M"));

        final Disk disk;
        final String size;
        final List<String> args;

        Scenario(Disk disk, String size, List<String> args) {
            this.disk = disk;
            this.size = size;
            this.args = args;
        }

        String file() {
            return name().toLowerCase().replace('_', '-') + ".json";
        }
    }

    /**
     * What the observer saw on virt-resize's output of one scenario.
     *
     * @param facts       the output's facts, UUIDs by origin ({@link ResizeObservation#byOrigin})
     * @param inputFacts  the input's facts the same way: the fixture the golden was made from
     * @param headSha256  SHA-256 of the output's first MiB
     * @param tableHex    the output's first 34 sectors (MBR, GPT header and entries), in hex
     */
    record Output(String size, List<String> args, List<String> table, Map<String, String> facts,
                  Map<String, String> inputFacts, String headSha256, String tableHex) {
    }

    /** The inspection of the MBR guest before and after virt-resize. */
    record Inspection(String input, String output) {
    }

    private VirtResize() {
    }

    static String recipe() {
        return "resize-v" + ResizeFixtures.RECIPE;
    }

    static Output golden(Scenario s) {
        try {
            Output o = JSON.readValue(Oracles.read(TOOL, recipe(), s.file()), Output.class);
            if (!o.size().equals(s.size) || !o.args().equals(s.args)) {
                throw new AssertionError("the golden output of " + s + " was made with " + o.size() + " " + o.args()
                        + ", the scenario now says " + s.size + " " + s.args + ": run `make oracles`");
            }
            return o;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Inspection goldenInspection() {
        try {
            return JSON.readValue(Oracles.read(TOOL, recipe(), "inspection.json"), Inspection.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs virt-resize on every scenario of the current fixtures and observes the outputs: the golden files. */
    static Map<String, String> regenerate(Path work) throws IOException {
        List<Path> inputs = new ArrayList<>();
        List<Path> outputs = new ArrayList<>();
        for (Scenario s : Scenario.values()) {
            Path input = ResizeFixtures.image(s.disk);
            Path out = work.resolve("virt-resize-" + s.name().toLowerCase() + ".qcow2");
            VirtTool.run(Duration.ofMinutes(1), "qemu-img", "create", "-q", "-f", "qcow2", out.toString(),
                    Long.toString(outputSize(input, s.size))).orFail("qemu-img create");
            List<String> cmd = new ArrayList<>(List.of(TOOL, "--format", "qcow2", "--output-format", "qcow2"));
            cmd.addAll(s.args);
            cmd.add(input.toString());
            cmd.add(out.toString());
            VirtTool.run(Duration.ofMinutes(20), cmd).orFail("virt-resize " + s);
            inputs.add(input);
            outputs.add(out);
        }
        ResizeObservation.Seen seen = ResizeObservation.observe(inputs, outputs);
        Map<String, String> files = new LinkedHashMap<>();
        Scenario[] all = Scenario.values();
        for (int i = 0; i < all.length; i++) {
            ResizeObservation.Disk in = seen.inputs().get(i);
            ResizeObservation.Disk out = seen.outputs().get(i);
            if (!out.checksums().equals(in.checksums())) {
                throw new IllegalStateException("virt-resize " + all[i] + " did not keep every file: " + out.checksums()
                        + " against " + in.checksums());
            }
            byte[] head = ResizeObservation.head(outputs.get(i));
            Output o = new Output(all[i].size, all[i].args, out.table(),
                    ResizeObservation.byOrigin(out.facts(), in.facts()), ResizeObservation.byOrigin(in.facts(), in.facts()),
                    sha256(head), HexFormat.of().formatHex(Arrays.copyOf(head, TABLE_BYTES)));
            files.put(all[i].file(), JSON.writeValueAsString(o) + "\n");
        }
        files.put("inspection.json", JSON.writeValueAsString(new Inspection(seen.mbrInputInspection(),
                seen.mbrOutputInspection())) + "\n");
        return files;
    }

    /** A resize job's options for virt-resize's {@code size} and arguments (the same ones, as JSON). */
    static ObjectNode options(String size, List<String> args) {
        ObjectNode o = JSON.createObjectNode().put("size", size);
        for (int i = 0; i < args.size(); i += 2) {
            String v = args.get(i + 1);
            switch (args.get(i)) {
                case "--expand" -> o.put("expand", v);
                case "--resize" -> o.withArray("resize").add(v);
                case "--lv-expand" -> o.withArray("lvExpand").add(v);
                default -> throw new IllegalArgumentException(args.get(i));
            }
        }
        return o;
    }

    /** The output disk size virt-resize is given: the input's virtual size changed as {@code relative} says. */
    static long outputSize(Path input, String relative) {
        long in = new io.guestflow.pool.ImageProbe().inspect(input, "qcow2", false).virtualSize();
        return io.guestflow.processors.resize.Sizes.diskSize(in, relative);
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
