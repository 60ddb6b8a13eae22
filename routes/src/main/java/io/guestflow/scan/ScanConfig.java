package io.guestflow.scan;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.settings.Configuration;
import io.guestflow.settings.Setting;
import io.guestflow.settings.SettingGroup;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
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
        // the defaults are the declared settings' (below); a scan is built from a configuration
        java.util.Objects.requireNonNull(type, "type");
        java.util.Objects.requireNonNull(timeZone, "timeZone");
        java.util.Objects.requireNonNull(resultTimeout, "resultTimeout");
        java.util.Objects.requireNonNull(options, "options");
    }

    private static final String SCAN = "guestflow.scan." + Setting.NAME_PART + ".";
    private static final ObjectMapper JSON = new ObjectMapper();

    public static final Setting<String> CRON = Setting.of(SCAN + "cron", Setting.STRING)
            .must(CronExpression::isValidExpression, "a Quartz cron expression")
            .withDescription("When the scan fires, as a Quartz cron expression (seconds minutes hours day-of-month"
                    + " month day-of-week [year]): \"0 0 2 * * ?\" = 02:00 every day,"
                    + " \"0 30 1 ? * MON-FRI\" = 01:30 on weekdays. No cron: only on demand (bin/guestflow scan NAME).");
    public static final Setting<ZoneId> TIME_ZONE = Setting.of(SCAN + "time-zone", Setting.type("time zone", z -> {
        try {
            return ZoneId.of(z);
        } catch (DateTimeException e) {
            throw new IllegalArgumentException("unknown time zone '" + z + "'");
        }
    })).withDescription("Zone of the cron, e.g. Europe/Paris or UTC. Default: the host's.");
    public static final Setting<List<Path>> ROOTS = Setting.of(SCAN + "roots", Setting.PATHS)
            .withDescription("Directories walked recursively (comma-separated); they must lie under"
                    + " guestflow.engine.image-root or the jobs are REJECTED. A scan is declared by this key.");
    public static final Setting<List<String>> INCLUDE = Setting.of(SCAN + "include", Setting.LIST)
            .withDefault(String.join(",", DEFAULT_INCLUDE))
            .withDescription("Globs an image must match; a glob without '/' matches the file name at any depth,"
                    + " one with '/' the path under its root (golden/**).");
    public static final Setting<List<String>> EXCLUDE = Setting.of(SCAN + "exclude", Setting.LIST)
            .withDescription("Globs that drop an image even when included.");
    public static final Setting<String> TYPE = Setting.of(SCAN + "type", Setting.STRING).withDefault("inspect")
            .withDescription("The job type run on every image.");
    public static final Setting<ObjectNode> OPTIONS = Setting.of(SCAN + "options", Setting.type("JSON object", o -> {
        try {
            if (JSON.readTree(o) instanceof ObjectNode n) {
                return n;
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("options is not JSON: " + e.getOriginalMessage());
        }
        throw new IllegalArgumentException("options must be a JSON object, got " + o);
    })).withDefault("{}").withDescription("That job type's options for every image.");
    public static final Setting<Integer> TIMEOUT_SECONDS = Setting.of(SCAN + "timeout-seconds", Setting.INTEGER)
            .withDefault("1800").must(Setting.atLeast(1), ">= 1")
            .withDescription("timeoutSeconds of each job.");
    public static final Setting<Boolean> INCREMENTAL = Setting.of(SCAN + "incremental", Setting.BOOLEAN)
            .withDefault("true")
            .withDescription("true: an image's job id is scan + path + fingerprint, so an unchanged image is not run"
                    + " again (its last result is reused in the report); false: every fire runs every image.");
    public static final Setting<Fingerprint> FINGERPRINT = Setting.of(SCAN + "fingerprint",
                    Setting.choice(Fingerprint.class)).withDefault("metadata")
            .withDescription("metadata: size, mtime, inode; sha256 reads every image on every fire (a touch without a"
                    + " content change is then not a change).");
    public static final Setting<Misfire> MISFIRE = Setting.of(SCAN + "misfire", Setting.choice(Misfire.class))
            .withDefault("fire-once-now")
            .withDescription("A fire missed while no engine ran: fire-once-now runs once at start, under the latest"
                    + " missed fire's run id; skip waits for the next.");
    public static final Setting<Duration> RESULT_TIMEOUT = Setting.of(SCAN + "result-timeout-minutes", Setting.MINUTES)
            .withDefault("1440").must(d -> d.toMinutes() >= 1, ">= 1")
            .withDescription("How long a run waits for its results; images still without one are reported as NO_RESULT.");

    /** The keys of one scan, {@code <name>} being the scan's name. */
    public static final SettingGroup SETTINGS = new SettingGroup("scheduled fleet scans",
            "bin/guestflow run fires every scan that has a cron; bin/guestflow scan NAME runs one now. A scan is"
                    + " declared by its roots key; every other key has a default. Several engine instances may declare"
                    + " the same scan: the run id is the fire's scheduled time and job ids are deterministic, so each"
                    + " image runs once and the instances write the same report. From the environment:"
                    + " GUESTFLOW_SCAN_NIGHTLY_ROOTS declares the scan nightly.",
            List.of(CRON, TIME_ZONE, ROOTS, INCLUDE, EXCLUDE, TYPE, OPTIONS, TIMEOUT_SECONDS, INCREMENTAL, FINGERPRINT,
                    MISFIRE, RESULT_TIMEOUT),
            List.of("guestflow.scan.nightly.cron=0 0 2 * * ?",
                    "guestflow.scan.nightly.time-zone=UTC",
                    "guestflow.scan.nightly.roots=${user.home}/.guestflow/images",
                    "guestflow.scan.nightly.exclude=*-tmp.qcow2,scratch/**",
                    "guestflow.scan.nightly.options={\"applications\":true}"));

    /** The scan named {@code name} of a configuration. */
    public static ScanConfig from(Configuration c, String name) {
        ZoneId zone = c.get(TIME_ZONE, name);
        return new ScanConfig(name, c.get(CRON, name), zone == null ? ZoneId.systemDefault() : zone, c.get(ROOTS, name), c.get(INCLUDE, name),
                c.get(EXCLUDE, name), c.get(TYPE, name), c.get(OPTIONS, name), c.get(INCREMENTAL, name),
                c.get(FINGERPRINT, name), c.get(MISFIRE, name), c.get(TIMEOUT_SECONDS, name), c.get(RESULT_TIMEOUT, name));
    }

    /** Every scan of a configuration (declared by its roots key, from the file or the environment), by name. */
    public static List<ScanConfig> all(Configuration c) {
        List<ScanConfig> out = new ArrayList<>();
        for (String n : c.names(ROOTS)) {
            out.add(from(c, n));
        }
        for (String n : allNames(c)) {
            if (!c.names(ROOTS).contains(n)) {
                throw new IllegalArgumentException("guestflow.scan." + n + ".roots: the scan '" + n
                        + "' has settings but no roots; at least one directory is required");
            }
        }
        return out;
    }

    private static java.util.Set<String> allNames(Configuration c) {
        java.util.Set<String> names = new java.util.TreeSet<>();
        for (Setting<?> s : SETTINGS.settings()) {
            names.addAll(c.names(s));
        }
        return names;
    }

    public ScanConfig withCron(String c) {
        return new ScanConfig(name, c, timeZone, roots, include, exclude, type, options, incremental, fingerprint,
                misfire, timeoutSeconds, resultTimeout);
    }
}
