package io.guestflow.config;

import io.guestflow.engine.EngineConfig;
import io.guestflow.pool.PoolConfig;
import io.guestflow.scan.ScanConfig;
import io.guestflow.settings.Catalog;
import io.guestflow.settings.Configuration;
import io.guestflow.settings.Setting;
import io.guestflow.settings.SettingGroup;
import io.guestflow.settings.SettingsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;

/**
 * guestflow's whole configuration: the catalog of every declared setting
 * (pool, engine, logging, scans; {@code kafka.*} passed through), where the
 * file is found, and loading with the environment over the file.
 *
 * <p>Adding a setting: declare it (a {@link Setting} constant) next to the
 * code that reads it and add it to that class's {@code SETTINGS} group; then
 * regenerate the two documents ({@code bin/guestflow config --reference >
 * config/application.properties} and {@code --markdown}, see CONTRIBUTING.md).
 */
public final class GuestflowConfig {
    private GuestflowConfig() {
    }

    /** Read when neither --config nor GUESTFLOW_CONFIG names a file, if it exists. */
    public static final Path DEFAULT_FILE = Path.of("/etc/guestflow/guestflow.properties");
    /** Environment variable naming the configuration file. */
    public static final String FILE_ENV = "GUESTFLOW_CONFIG";

    /** How log lines are written. */
    public enum LogFormat { TEXT, JSON }

    public static final Setting<LogFormat> LOG_FORMAT = Setting.of("guestflow.log.format", Setting.choice(LogFormat.class))
            .withDefault("text")
            .withDescription("text: one human-readable line per event on stderr. json: one JSON object per line"
                    + " (log4j's JSON template layout: time, level, logger, thread, message, jobId and jobType of the"
                    + " job the line is about, error), for log collectors.");

    public static final SettingGroup LOGGING = new SettingGroup("logging", "", List.of(LOG_FORMAT));

    private static final ConfigDef[] KAFKA_DEFS = {ConsumerConfig.configDef(), ProducerConfig.configDef(),
        AdminClientConfig.configDef()};
    private static final Set<String> KAFKA_NAMES = new HashSet<>();

    static {
        KAFKA_NAMES.addAll(ConsumerConfig.configNames());
        KAFKA_NAMES.addAll(ProducerConfig.configNames());
        KAFKA_NAMES.addAll(AdminClientConfig.configNames());
    }

    private static boolean kafkaSecret(String name) {
        for (ConfigDef d : KAFKA_DEFS) {
            ConfigDef.ConfigKey k = d.configKeys().get(name);
            if (k != null && k.type == ConfigDef.Type.PASSWORD) {
                return true;
            }
        }
        String n = name.toLowerCase(java.util.Locale.ROOT);
        return n.contains("password") || n.contains("secret") || n.contains("jaas");
    }

    public static final Catalog.PassThrough KAFKA = new Catalog.PassThrough(EngineConfig.KAFKA_PREFIX, "GUESTFLOW_KAFKA_",
            "Kafka client pass-through",
            "Any kafka.* key is handed to every Kafka client (producer, consumers, admin) without the prefix: SASL,"
                    + " TLS, client tuning. From the environment: GUESTFLOW_KAFKA_ and the client setting in upper case"
                    + " with dots as underscores (GUESTFLOW_KAFKA_SECURITY_PROTOCOL=SASL_SSL). Names the Kafka clients do"
                    + " not know are passed on with a warning; passwords and JAAS configurations are masked by"
                    + " bin/guestflow config.",
            KAFKA_NAMES::contains, GuestflowConfig::kafkaSecret,
            List.of("kafka.security.protocol=SASL_SSL",
                    "kafka.sasl.mechanism=SCRAM-SHA-512",
                    "kafka.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"...\" password=\"...\";",
                    "kafka.ssl.truststore.location=/etc/guestflow/truststore.jks"));

    public static final Catalog CATALOG = new Catalog(List.of(
            "guestflow configuration: every setting with its type, default and meaning.",
            "Written from the settings' declarations by `bin/guestflow config --reference`;",
            "a test keeps this file equal to it, so change the declaration, not this file.",
            "",
            "Where values come from, later ones winning: these defaults; the configuration",
            "file (--config FILE, else the file named by GUESTFLOW_CONFIG, else",
            "/etc/guestflow/guestflow.properties when it exists); environment variables",
            "named like the key in upper case with dots and dashes as underscores",
            "(guestflow.pool.acceleration -> GUESTFLOW_POOL_ACCELERATION); command-line",
            "flags. An unknown key, or a GUESTFLOW_ENGINE_/POOL_/LOG_/SCAN_ variable that",
            "names no setting, stops the program with the closest valid name. ${user.home}",
            "in a path is the home directory. `bin/guestflow config` prints the values in",
            "force and where each came from."),
            List.of(PoolConfig.SETTINGS, EngineConfig.SETTINGS, LOGGING, ScanConfig.SETTINGS), List.of(KAFKA));

    /** docs/configuration.md: every setting's key, variable, type, default and meaning. */
    public static String markdown() {
        return "# Configuration reference\n\n"
                + "<!-- Written by `bin/guestflow config --markdown` from the settings' declarations; a test keeps"
                + " this file equal to it. -->\n\n"
                + "Every setting guestflow reads, by section. Values come from the defaults below, then the"
                + " configuration file (`--config FILE`, else the file named by `GUESTFLOW_CONFIG`, else"
                + " `/etc/guestflow/guestflow.properties` when it exists), then the environment variable of each"
                + " key, then command-line flags. An unknown key or `GUESTFLOW_ENGINE_`/`POOL_`/`LOG_`/`SCAN_`"
                + " variable is an error that names the closest valid one. `bin/guestflow config` prints the"
                + " values in force and where each came from. The same text, as comments, is"
                + " `config/application.properties`.\n"
                + CATALOG.markdown();
    }

    /** Properties already read (tests, embedding), checked against the catalog, the environment over them. */
    public static Configuration load(Map<String, String> props, String source, Map<String, String> env) {
        return Configuration.load(CATALOG, props, source, env);
    }

    /**
     * The engine's settings from properties (a file's keys) and the
     * environment, checked against every declared setting: unknown keys are
     * errors.
     */
    public static EngineConfig engine(Map<String, String> props, Map<String, String> env) {
        return EngineConfig.from(load(props, "properties", env));
    }

    /** The scan named {@code name} from properties, environment variables overriding (GUESTFLOW_SCAN_NIGHTLY_CRON). */
    public static ScanConfig scan(String name, Map<String, String> props, Map<String, String> env) {
        return ScanConfig.from(load(props, "properties", env), name);
    }

    /** Every scan declared in the properties (a scan is declared by its roots key), by name. */
    public static List<ScanConfig> scans(Map<String, String> props, Map<String, String> env) {
        return ScanConfig.all(load(props, "properties", env));
    }

    /** Where reports go: {@code guestflow.engine.reports-dir}, default ~/.guestflow/reports. */
    public static Path reportsDir(Map<String, String> props, Map<String, String> env) {
        return load(props, "properties", env).get(EngineConfig.REPORTS_DIR);
    }

    /** The configuration file in force and how it was chosen; null file when none. */
    public record Located(Path file, String how) {
    }

    /**
     * {@code explicit} (--config), else {@code $GUESTFLOW_CONFIG}, else
     * {@code defaultFile} when it exists, else no file. A file named
     * explicitly or by the variable must exist.
     */
    public static Located locate(Path explicit, Map<String, String> env, Path defaultFile) {
        if (explicit != null) {
            return mustExist(explicit, "--config");
        }
        String named = env.get(FILE_ENV);
        if (named != null && !named.isBlank()) {
            return mustExist(Path.of(named.trim()), FILE_ENV);
        }
        if (Files.isRegularFile(defaultFile)) {
            return new Located(defaultFile, "default location");
        }
        return new Located(null, "no file (neither --config, " + FILE_ENV + " nor " + defaultFile + ")");
    }

    private static Located mustExist(Path file, String how) {
        if (!Files.isRegularFile(file)) {
            throw new SettingsException(List.of("the configuration file " + file + " (" + how + ") does not exist"));
        }
        return new Located(file, how);
    }

    /** The configuration of a command: the located file, then the environment. */
    public static Configuration load(Path explicit, Map<String, String> env) {
        Located at = locate(explicit, env, DEFAULT_FILE);
        Map<String, String> props = at.file() == null ? Map.of() : Configuration.readProperties(at.file());
        return Configuration.load(CATALOG, props, at.file() == null ? "none" : "file " + at.file(), env);
    }
}
