package io.guestflow.cli;

import io.guestflow.pool.LuksKey;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobKeys;
import io.guestflow.processors.job.KeyFiles;
import io.guestflow.processors.job.KeySource;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * {@code --key} and {@code --keys-from-stdin} of the commands that open a
 * guest (inspect, sysprep, sparsify, journal, pipeline), in the virt tools'
 * syntax, as a picocli mixin. A local user names any file they can read (the
 * secrets dir is the engine's rule for jobs from the bus); the files are read
 * with the engine's rules about their content ({@link KeyFiles}), just before
 * the job runs. A key on the command line itself ({@code ID:key:STRING}) is
 * refused: every user of the machine sees it.
 */
final class KeyOptions implements KeySource {
    static final String KEY_HELP = "A LUKS key, as the virt tools' --key: ID:file:PATH, the first line of PATH opens the"
            + " container ID (a device such as /dev/sda2 or /dev/VG/LV, a LUKS UUID, or all: tried on every container)."
            + " Repeat for several. ID:key:STRING is refused (a command line is visible to every user).";
    /** The most lines --keys-from-stdin takes. */
    static final int MAX_STDIN_KEYS = JobKeys.MAX_KEYS;

    @Option(names = "--key", paramLabel = "ID:file:PATH", converter = Converter.class, description = KEY_HELP)
    List<Job.Key> keys = new ArrayList<>();

    @Option(names = "--keys-from-stdin", description = "Read keys from stdin until EOF, one per line, each tried in"
            + " order on every LUKS container (unlike the virt tools, which read one line per container as they"
            + " find them). Empty lines are skipped.")
    boolean keysFromStdin;

    /** Where --keys-from-stdin reads; a test gives its own. */
    Supplier<InputStream> stdin = () -> System.in;
    /** Read once: stdin cannot be read twice, and a job reads its keys once per run. */
    private List<LuksKey> fromStdin;

    /** {@code job} with the --key files as its key references. */
    Job attach(Job job) {
        if (keys.stream().map(Job.Key::device).distinct().count() < keys.size()) {
            throw new IllegalArgumentException("--key: one key per device selector (a selector is given twice)");
        }
        return keys.isEmpty() ? job : job.withKeys(keys);
    }

    /** The --key files (any readable file), then the stdin keys. */
    @Override
    public List<LuksKey> keys(Job job) {
        List<LuksKey> all = new ArrayList<>(KeyFiles.readLocal(job));
        if (keysFromStdin) {
            if (fromStdin == null) {
                fromStdin = readStdin();
            }
            all.addAll(fromStdin);
        }
        return List.copyOf(all);
    }

    private List<LuksKey> readStdin() {
        List<LuksKey> read = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(stdin.get(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isEmpty()) {
                    continue;
                }
                if (line.length() > KeyFiles.MAX_BYTES || read.size() == MAX_STDIN_KEYS) {
                    throw new IllegalArgumentException("--keys-from-stdin takes at most " + MAX_STDIN_KEYS
                            + " keys of at most " + KeyFiles.MAX_BYTES + " bytes each");
                }
                read.add(new LuksKey(LuksKey.ALL, line));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("--keys-from-stdin: " + e.getClass().getSimpleName(), e);
        }
        if (read.isEmpty()) {
            throw new IllegalArgumentException("--keys-from-stdin: stdin held no key");
        }
        return List.copyOf(read);
    }

    /**
     * One {@code --key} value: {@code ID:file:PATH}. The message of a refusal
     * never holds what follows the method (it may be a key).
     */
    static Job.Key parse(String spec) {
        int first = spec.indexOf(':');
        int second = first < 0 ? -1 : spec.indexOf(':', first + 1);
        String id = first < 0 ? spec : spec.substring(0, first);
        String method = first < 0 ? "" : second < 0 ? spec.substring(first + 1) : spec.substring(first + 1, second);
        if (method.equals("key")) {
            throw new IllegalArgumentException("--key " + id + ":key:... is refused: a key on a command line is"
                    + " visible to every user of the machine (ps, /proc, shell history); put it in a file and give"
                    + " " + id + ":file:PATH, or pipe it with --keys-from-stdin");
        }
        if (second < 0 || !method.equals("file")) {
            throw new IllegalArgumentException("--key takes ID:file:PATH (ID: /dev/sda2, /dev/VG/LV, a LUKS UUID or"
                    + " all)" + (method.isEmpty() || method.length() > 10 ? "" : "; '" + method + "' is not a method"
                    + " guestflow supports (file)"));
        }
        String path = spec.substring(second + 1);
        String why = JobKeys.selectorProblem(id);
        if (why != null) {
            throw new IllegalArgumentException("--key: " + why);
        }
        if (path.isEmpty()) {
            throw new IllegalArgumentException("--key " + id + ":file: needs the key file's path");
        }
        return new Job.Key(id, path);
    }

    /** picocli's conversion of one --key value; its message replaces picocli's, which would quote the value. */
    static final class Converter implements CommandLine.ITypeConverter<Job.Key> {
        @Override
        public Job.Key convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
