package io.guestflow.scan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.quartz.CronExpression;

/**
 * One scheduled fleet scan ({@code guestflow.scan.<name>.*} in
 * {@code config/application.properties}), checked when it is read so that a
 * typo in a cron expression stops the engine at start, not at 2 a.m.
 *
 * @param cron          Quartz cron expression (seconds first); null for scans only run on demand
 * @param roots         directories walked on every fire
 * @param include       globs an image must match (a glob without '/' matches the file name, else the path under its root)
 * @param exclude       globs that drop an image even when included
 * @param type          the job type run on every image
 * @param options       that job type's options
 * @param incremental   job ids depend only on the image (unchanged image: no new job); off, every fire runs every image
 * @param fingerprint   how an image's identity is computed for its job id
 * @param misfire       what happens to a fire missed while the engine was down
 * @param resultTimeout how long a run waits for the results of its jobs before it reports the missing ones
 */
public record ScanConfig(String name, String cron, ZoneId timeZone, List<Path> roots, List<String> include,
                         List<String> exclude, String type, ObjectNode options, boolean incremental,
                         Fingerprint fingerprint, Misfire misfire, int timeoutSeconds, Duration resultTimeout) {

    /** size+mtime+inode is free; sha256 reads every image on every fire but survives copies that keep content. */
    public enum Fingerprint { METADATA, SHA256 }

    /** A fire missed while no engine ran: run once at start (the default), or wait for the next one. */
    public enum Misfire { FIRE_ONCE_NOW, SKIP }

    /** Scan names become part of job ids and report folders. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,39}");
    public static final List<String> DEFAULT_INCLUDE = List.of("*.qcow2", "*.img", "*.raw", "*.vmdk", "*.vdi",
            "*.vhd", "*.vhdx");

    public ScanConfig {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("scan name '" + name + "' must be 1-40 characters [A-Za-z0-9_-] starting with a letter or digit");
        }
        if (cron != null && !CronExpression.isValidExpression(cron)) {
            throw new IllegalArgumentException("guestflow.scan." + name + ".cron: '" + cron
                    + "' is not a Quartz cron expression (seconds minutes hours day-of-month month day-of-week [year], e.g. '0 0 2 * * ?')");
        }
        if (roots == null || roots.isEmpty()) {
            throw new IllegalArgumentException("guestflow.scan." + name + ".roots: at least one directory is required");
        }
        roots = List.copyOf(roots);
        include = include == null || include.isEmpty() ? DEFAULT_INCLUDE : List.copyOf(include);
        exclude = exclude == null ? List.of() : List.copyOf(exclude);
        if (type == null || type.isBlank()) {
            type = "inspect";
        }
        if (timeZone == null) {
            timeZone = ZoneId.systemDefault();
        }
        if (timeoutSeconds <= 0) {
            timeoutSeconds = 1800;
        }
        if (resultTimeout == null) {
            resultTimeout = Duration.ofHours(24);
        }
    }

    /** The scan named {@code name} from properties, environment variables overriding (GUESTFLOW_SCAN_NIGHTLY_CRON). */
    public static ScanConfig from(String name, java.util.Map<String, String> props, java.util.Map<String, String> env,
                                  ObjectMapper json) {
        String p = "guestflow.scan." + name + ".";
        java.util.function.Function<String, String> get = key -> {
            String v = env.get((p + key).toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_'));
            if (v == null) {
                v = props.get(p + key);
            }
            return v == null || v.isBlank() ? null : v.trim().replace("${user.home}", System.getProperty("user.home"));
        };
        List<Path> roots = list(get.apply("roots")).stream().map(Path::of).toList();
        ObjectNode options = json.createObjectNode();
        String opts = get.apply("options");
        if (opts != null) {
            try {
                JsonNode n = json.readTree(opts);
                if (!(n instanceof ObjectNode o)) {
                    throw new IllegalArgumentException(p + "options must be a JSON object, got " + opts);
                }
                options = o;
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalArgumentException(p + "options is not JSON: " + e.getOriginalMessage());
            }
        }
        ZoneId tz = null;
        if (get.apply("time-zone") != null) {
            try {
                tz = ZoneId.of(get.apply("time-zone"));
            } catch (DateTimeException e) {
                throw new IllegalArgumentException(p + "time-zone: unknown zone '" + get.apply("time-zone") + "'");
            }
        }
        try {
            return new ScanConfig(name, get.apply("cron"), tz, roots, list(get.apply("include")),
                    list(get.apply("exclude")), get.apply("type"), options,
                    bool(p + "incremental", get.apply("incremental"), true),
                    enumOf(Fingerprint.class, p + "fingerprint", get.apply("fingerprint"), Fingerprint.METADATA),
                    enumOf(Misfire.class, p + "misfire", get.apply("misfire"), Misfire.FIRE_ONCE_NOW),
                    get.apply("timeout-seconds") == null ? 0 : Integer.parseInt(get.apply("timeout-seconds")),
                    get.apply("result-timeout-minutes") == null ? null
                            : Duration.ofMinutes(Long.parseLong(get.apply("result-timeout-minutes"))));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad number in " + p + "* settings: " + e.getMessage(), e);
        }
    }

    /** Every scan declared in the properties (a scan is declared by its roots key), by name. */
    public static List<ScanConfig> all(java.util.Map<String, String> props, java.util.Map<String, String> env,
                                       ObjectMapper json) {
        java.util.SortedSet<String> names = new java.util.TreeSet<>();
        for (String k : props.keySet()) {
            if (k.startsWith("guestflow.scan.") && k.endsWith(".roots")) {
                names.add(k.substring("guestflow.scan.".length(), k.length() - ".roots".length()));
            }
        }
        List<ScanConfig> out = new ArrayList<>();
        for (String n : names) {
            out.add(from(n, props, env, json));
        }
        return out;
    }

    /** Where reports go: {@code guestflow.engine.reports-dir}, default ~/.guestflow/reports. */
    public static Path reportsDir(java.util.Map<String, String> props, java.util.Map<String, String> env) {
        String v = env.get("GUESTFLOW_ENGINE_REPORTS_DIR");
        if (v == null || v.isBlank()) {
            v = props.get("guestflow.engine.reports-dir");
        }
        if (v == null || v.isBlank()) {
            return Path.of(System.getProperty("user.home"), ".guestflow", "reports");
        }
        return Path.of(v.trim().replace("${user.home}", System.getProperty("user.home")));
    }

    public ScanConfig withCron(String c) {
        return new ScanConfig(name, c, timeZone, roots, include, exclude, type, options, incremental, fingerprint,
                misfire, timeoutSeconds, resultTimeout);
    }

    private static List<String> list(String v) {
        if (v == null) {
            return List.of();
        }
        return Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    private static boolean bool(String key, String v, boolean dflt) {
        if (v == null) {
            return dflt;
        }
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException(key + " must be true or false, got " + v);
        }
        return Boolean.parseBoolean(v);
    }

    private static <E extends Enum<E>> E enumOf(Class<E> type, String key, String v, E dflt) {
        if (v == null) {
            return dflt;
        }
        try {
            return Enum.valueOf(type, v.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": '" + v + "' is not one of "
                    + Arrays.stream(type.getEnumConstants()).map(c -> c.name().toLowerCase(Locale.ROOT).replace('_', '-')).toList());
        }
    }
}
