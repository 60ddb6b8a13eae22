package io.guestflow.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.guestflow.engine.EngineConfig;
import io.guestflow.pool.Acceleration;
import io.guestflow.pool.PoolConfig;
import io.guestflow.scan.ScanConfig;
import io.guestflow.settings.Configuration;
import io.guestflow.settings.Setting;
import io.guestflow.settings.SettingsException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** guestflow's catalog: the shipped documents are written from it, and every setting behaves as declared. */
class GuestflowConfigTest {
    private static final Path REPO = Path.of(System.getProperty("guestflow.repo", ".."));

    @Test
    void shippedPropertiesFileIsWrittenFromTheDeclarations() throws IOException {
        assertThat(Files.readString(REPO.resolve("config/application.properties")))
                .as("config/application.properties differs from the declarations: run"
                        + " bin/guestflow config --reference > config/application.properties")
                .isEqualTo(GuestflowConfig.CATALOG.reference());
    }

    @Test
    void docsTableIsWrittenFromTheDeclarations() throws IOException {
        assertThat(Files.readString(REPO.resolve("docs/configuration.md")))
                .as("docs/configuration.md differs from the declarations: run"
                        + " bin/guestflow config --markdown > docs/configuration.md")
                .isEqualTo(GuestflowConfig.markdown());
    }

    @Test
    void everyDeclaredDefaultIsAValidValue() {
        Configuration defaults = Configuration.defaults(GuestflowConfig.CATALOG);
        for (Setting<?> s : GuestflowConfig.CATALOG.settings()) {
            assertThat(s.description()).as(s.key() + " has a description").isNotBlank();
            if (s.isTemplate()) {
                defaults.get(s, "x"); // throws when the default breaks the setting's own rules
            } else {
                defaults.get(s);
            }
        }
    }

    @Test
    void theShippedFileAndTheExamplesLoadAndTheShippedFileChangesNothing() throws IOException {
        Configuration shipped = GuestflowConfig.load(Configuration.readProperties(REPO.resolve("config/application.properties")),
                "file", Map.of());
        assertThat(EngineConfig.from(shipped)).isEqualTo(GuestflowConfig.engine(Map.of(), Map.of()));
        try (DirectoryStream<Path> examples = Files.newDirectoryStream(REPO.resolve("config/examples"), "*.properties")) {
            for (Path p : examples) {
                Configuration c = GuestflowConfig.load(Configuration.readProperties(p), "file " + p, Map.of());
                ScanConfig.all(c);
                EngineConfig.from(c);
            }
        }
    }

    @Test
    void misspeltKeysAreErrorsNamingTheClosestValidKey() {
        SettingsException e = catchThrowableOfType(SettingsException.class, () -> GuestflowConfig.engine(Map.of(
                "guestflow.engine.topic.job", "jobs", "guestfow.pool.smp", "2", "guestflow.scan.nightly.roots", "/srv",
                "guestflow.scan.nightly.time-zon", "UTC"), Map.of()));
        assertThat(e.problems()).containsExactlyInAnyOrder(
                "guestflow.engine.topic.job (properties): unknown setting; did you mean guestflow.engine.topic.jobs?",
                "guestfow.pool.smp (properties): unknown setting; did you mean guestflow.pool.smp?",
                "guestflow.scan.nightly.time-zon (properties): unknown setting; did you mean guestflow.scan.nightly.time-zone?");
        assertThatThrownBy(() -> GuestflowConfig.engine(Map.of(), Map.of("GUESTFLOW_POOL_MAX_APPLIANCE", "2")))
                .hasMessageContaining("GUESTFLOW_POOL_MAX_APPLIANCE (environment): names no setting; did you mean"
                        + " GUESTFLOW_POOL_MAX_APPLIANCES?");
        // variables outside guestflow's sections are not guestflow's business
        GuestflowConfig.engine(Map.of(), Map.of("GUESTFLOW_JAVA_OPTS", "-Xmx1g", "GUESTFLOW_CONFIG", "/x", "HOME", "/root"));
    }

    @Test
    void valuesAreCheckedAgainstTheirRules() {
        assertThatThrownBy(() -> GuestflowConfig.engine(Map.of("guestflow.engine.management-port", "70000"), Map.of()))
                .hasMessageContaining("guestflow.engine.management-port (properties): must be 0-65535, got '70000'");
        assertThatThrownBy(() -> GuestflowConfig.engine(Map.of(), Map.of("GUESTFLOW_ENGINE_INSPECT_BATCH_SIZE", "0")))
                .hasMessageContaining("guestflow.engine.inspect-batch-size (environment GUESTFLOW_ENGINE_INSPECT_BATCH_SIZE):"
                        + " must be >= 1, got '0'");
        assertThatThrownBy(() -> GuestflowConfig.engine(Map.of("guestflow.pool.acceleration", "warp"), Map.of()))
                .hasMessageContaining("guestflow.pool.acceleration").hasMessageContaining("auto, kvm or tcg");
        assertThatThrownBy(() -> GuestflowConfig.engine(Map.of("guestflow.scan.n.roots", "/srv", "guestflow.scan.n.cron",
                "every night"), Map.of())).hasMessageContaining("guestflow.scan.n.cron (properties): must be a Quartz cron expression");
        assertThatThrownBy(() -> GuestflowConfig.engine(Map.of("guestflow.log.format", "xml"), Map.of()))
                .hasMessageContaining("'xml' is not one of [text, json]");
        assertThatThrownBy(() -> GuestflowConfig.engine(Map.of("guestflow.engine.secrets-dir", "keys"), Map.of()))
                .hasMessageContaining("guestflow.engine.secrets-dir (properties): must be an absolute path");
        assertThat(GuestflowConfig.engine(Map.of(), Map.of()).secretsDir()).as("unset by default").isNull();
    }

    @Test
    void everySettingCanBeSetFromTheEnvironmentAlone() {
        Map<String, String> env = new HashMap<>();
        for (Setting<?> s : GuestflowConfig.CATALOG.settings()) {
            if (!s.isTemplate()) {
                env.put(s.envName(), s.defaultText().isBlank() ? "1" : s.defaultText());
            }
        }
        env.put("GUESTFLOW_POOL_ACCELERATION", "tcg");
        env.put("GUESTFLOW_ENGINE_MANAGEMENT_PORT", "0");
        env.put("GUESTFLOW_ENGINE_SECRETS_DIR", "/run/secrets/guestflow");
        env.put("GUESTFLOW_SCAN_NIGHTLY_ROOTS", "/srv/images");
        env.put("GUESTFLOW_SCAN_NIGHTLY_CRON", "0 0 2 * * ?");
        env.put("GUESTFLOW_SCAN_NIGHTLY_RESULT_TIMEOUT_MINUTES", "30");
        env.put("GUESTFLOW_KAFKA_SECURITY_PROTOCOL", "SASL_SSL");
        env.put("GUESTFLOW_KAFKA_SASL_JAAS_CONFIG", "org.example.Login required password=\"pw\";");
        Configuration c = GuestflowConfig.load(Map.of(), "none", env);
        for (Setting<?> s : GuestflowConfig.CATALOG.settings()) {
            if (!s.isTemplate()) {
                assertThat(c.source(s.key())).as(s.key()).isEqualTo("environment " + s.envName());
            }
        }
        EngineConfig e = EngineConfig.from(c);
        assertThat(e.pool().acceleration()).isEqualTo(Acceleration.TCG);
        assertThat(e.managementPort()).isZero();
        assertThat(e.kafka()).containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.jaas.config", "org.example.Login required password=\"pw\";");
        ScanConfig nightly = ScanConfig.all(c).get(0);
        assertThat(nightly.name()).isEqualTo("nightly");
        assertThat(nightly.cron()).isEqualTo("0 0 2 * * ?");
        assertThat(nightly.resultTimeout()).isEqualTo(Duration.ofMinutes(30));
        assertThat(c.describe()).contains("kafka.sasl.jaas.config=****").doesNotContain("pw");
    }

    @Test
    void environmentOverridesTheFileForScansToo() {
        Configuration c = GuestflowConfig.load(Map.of("guestflow.scan.weekly-templates.roots", "/srv/t",
                "guestflow.scan.weekly-templates.cron", "0 0 3 ? * SAT"), "file f",
                Map.of("GUESTFLOW_SCAN_WEEKLY_TEMPLATES_CRON", "0 0 4 ? * SUN"));
        ScanConfig s = ScanConfig.from(c, "weekly-templates");
        assertThat(s.cron()).isEqualTo("0 0 4 ? * SUN");
        assertThat(c.source("guestflow.scan.weekly-templates.cron"))
                .isEqualTo("environment GUESTFLOW_SCAN_WEEKLY_TEMPLATES_CRON");
    }

    @Test
    void aScanWithoutRootsIsAnError() {
        assertThatThrownBy(() -> ScanConfig.all(GuestflowConfig.load(Map.of("guestflow.scan.orphan.cron", "0 0 2 * * ?"),
                "f", Map.of()))).hasMessageContaining("guestflow.scan.orphan.roots");
    }

    @Test
    void theFileIsTheFlagsThenTheVariablesThenTheDefaultLocation(@TempDir Path dir) throws IOException {
        Path explicit = Files.writeString(dir.resolve("a.properties"), "guestflow.pool.smp=2\n");
        Path named = Files.writeString(dir.resolve("b.properties"), "guestflow.pool.smp=3\n");
        Path dflt = Files.writeString(dir.resolve("c.properties"), "guestflow.pool.smp=4\n");
        Map<String, String> env = Map.of(GuestflowConfig.FILE_ENV, named.toString());
        assertThat(GuestflowConfig.locate(explicit, env, dflt).file()).isEqualTo(explicit);
        assertThat(GuestflowConfig.locate(null, env, dflt).file()).isEqualTo(named);
        assertThat(GuestflowConfig.locate(null, Map.of(), dflt)).isEqualTo(new GuestflowConfig.Located(dflt, "default location"));
        assertThat(GuestflowConfig.locate(null, Map.of(), dir.resolve("absent")).file()).isNull();
        assertThatThrownBy(() -> GuestflowConfig.locate(dir.resolve("missing"), Map.of(), dflt))
                .hasMessageContaining("missing (--config) does not exist");
        assertThatThrownBy(() -> GuestflowConfig.locate(null, Map.of(GuestflowConfig.FILE_ENV, "/nowhere/x"), dflt))
                .hasMessageContaining("/nowhere/x (GUESTFLOW_CONFIG) does not exist");
        assertThat(PoolConfig.from(GuestflowConfig.load(null, env)).smp()).isEqualTo(3);
    }

    @Test
    void theDefaultFileIsTheOneTheIssueNames() {
        assertThat(GuestflowConfig.DEFAULT_FILE).isEqualTo(Path.of("/etc/guestflow/guestflow.properties"));
    }
}
