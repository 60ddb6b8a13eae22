package io.guestflow.processors.sparsify;

import com.fasterxml.jackson.databind.JsonNode;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobRejectedException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Options of a {@code sparsify} job.
 *
 * @param inPlace      trim the input itself instead of writing a new image
 * @param outputFormat raw or qcow2 (copy mode); null = the input's format when it is one of them, else qcow2
 * @param compress     qcow2 compression of the output (copy mode)
 * @param ignore       filesystems (devices) or volume groups (names) left alone
 * @param zero         devices whose whole content is zeroed (or discarded in place)
 * @param tmpDir       where the copy-mode overlay lives; null = the JVM's temporary directory
 */
public record SparsifyOptions(boolean inPlace, String outputFormat, boolean compress, List<String> ignore,
                              List<String> zero, Path tmpDir) {

    static final Set<String> OUTPUT_FORMATS = Set.of("raw", "qcow2");
    private static final Set<String> NAMES = Set.of("inPlace", "outputFormat", "compress", "ignore", "zero", "tmpDir");
    /** /dev/sda1, /dev/vg/lv, /dev/mapper/vg-lv, /dev/md0 ... */
    private static final Pattern DEVICE = Pattern.compile("/dev/[A-Za-z0-9][A-Za-z0-9+_.:/-]*");
    /** LVM's volume group name charset. */
    private static final Pattern VG_NAME = Pattern.compile("[A-Za-z0-9+_.][A-Za-z0-9+_.-]*");

    /** Parses and checks {@code job}'s options and its output against the mode; rejects with the reason. */
    public static SparsifyOptions of(Job job) {
        String id = job.jobId();
        boolean inPlace = false;
        String outputFormat = null;
        boolean compress = false;
        List<String> ignore = List.of();
        List<String> zero = List.of();
        Path tmpDir = null;
        for (Iterator<String> it = job.options().fieldNames(); it.hasNext(); ) {
            String name = it.next();
            JsonNode v = job.options().get(name);
            switch (name) {
                case "inPlace" -> inPlace = bool(id, name, v);
                case "compress" -> compress = bool(id, name, v);
                case "outputFormat" -> {
                    if (!v.isTextual() || !OUTPUT_FORMATS.contains(v.asText())) {
                        throw new JobRejectedException(id, "option 'outputFormat' must be one of " + OUTPUT_FORMATS);
                    }
                    outputFormat = v.asText();
                }
                case "ignore" -> ignore = strings(id, name, v, true);
                case "zero" -> zero = strings(id, name, v, false);
                case "tmpDir" -> {
                    if (!v.isTextual() || !v.asText().startsWith("/")) {
                        throw new JobRejectedException(id, "option 'tmpDir' must be an absolute directory path");
                    }
                    tmpDir = Path.of(v.asText()).normalize();
                }
                default -> throw JobRejectedException.unknownOption(id, "sparsify", name, NAMES);
            }
        }
        if (job.disks().size() != 1) {
            throw new JobRejectedException(id, "sparsify takes exactly one disk (got " + job.disks().size() + ")");
        }
        if (inPlace) {
            if (job.output() != null) {
                throw new JobRejectedException(id, "an in-place sparsify writes its input; it takes no output");
            }
            for (String copyOnly : List.of("outputFormat", "compress", "tmpDir")) {
                if (job.options().has(copyOnly)) {
                    throw new JobRejectedException(id, "option '" + copyOnly + "' is for copy mode, not inPlace");
                }
            }
        } else {
            if (job.output() == null) {
                throw new JobRejectedException(id, "a copy-mode sparsify needs an output (or set inPlace: true)");
            }
            String declared = job.output().format();
            if (declared != null && !OUTPUT_FORMATS.contains(declared)) {
                throw new JobRejectedException(id, "output format must be one of " + OUTPUT_FORMATS + " (got " + declared + ")");
            }
            if (declared != null && outputFormat != null && !declared.equals(outputFormat)) {
                throw new JobRejectedException(id, "output.format " + declared + " contradicts option outputFormat " + outputFormat);
            }
            if (outputFormat == null) {
                outputFormat = declared;
            }
            if (compress && "raw".equals(outputFormat)) {
                throw new JobRejectedException(id, "compress needs a qcow2 output; raw images cannot be compressed");
            }
        }
        return new SparsifyOptions(inPlace, outputFormat, compress, ignore, zero, tmpDir);
    }

    /**
     * Whether {@code job} sparsifies in place, checked as {@link #of} checks it: a
     * pipeline plans on this before the step's other options are checked.
     */
    public static boolean inPlace(Job job) {
        JsonNode v = job.options().get("inPlace");
        return v != null && bool(job.jobId(), "inPlace", v);
    }

    private static boolean bool(String id, String name, JsonNode v) {
        if (!v.isBoolean()) {
            throw new JobRejectedException(id, "option '" + name + "' must be true or false");
        }
        return v.asBoolean();
    }

    private static List<String> strings(String id, String name, JsonNode v, boolean vgNamesAllowed) {
        String what = vgNamesAllowed ? "device paths (/dev/...) or volume group names" : "device paths (/dev/...)";
        if (!v.isArray()) {
            throw new JobRejectedException(id, "option '" + name + "' must be an array of " + what);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            String s = e.isTextual() ? e.asText() : "";
            boolean ok = DEVICE.matcher(s).matches() && !s.contains("..")
                    || vgNamesAllowed && VG_NAME.matcher(s).matches();
            if (!ok) {
                throw new JobRejectedException(id, "option '" + name + "': " + e + " is not one of " + what);
            }
            out.add(s);
        }
        return List.copyOf(out);
    }
}
