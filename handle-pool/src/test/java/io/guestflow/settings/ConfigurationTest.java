package io.guestflow.settings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The declaration framework on a small catalog of its own: sources, errors, templates, pass-through. */
class ConfigurationTest {
    enum Mode { FAST, SLOW_AND_STEADY }

    static final Setting<Integer> COUNT = Setting.of("app.part.count", Setting.INTEGER).withDefault("2")
            .must(Setting.atLeast(1), ">= 1").withDescription("How many.");
    static final Setting<Duration> WAIT = Setting.of("app.part.wait-seconds", Setting.SECONDS).withDefault("30");
    static final Setting<Path> DIR = Setting.of("app.part.dir", Setting.PATH).withDefault("${user.home}/x");
    static final Setting<String> TOKEN = Setting.of("app.part.token", Setting.STRING).secret();
    static final Setting<Mode> MODE = Setting.of("app.part.mode", Setting.choice(Mode.class)).withDefault("fast");
    static final Setting<List<String>> ROOTS = Setting.of("app.job.<name>.roots", Setting.LIST);
    static final Setting<Integer> TIMEOUT = Setting.of("app.job.<name>.result-timeout-minutes", Setting.INTEGER)
            .withDefault("5");
    static final Setting<Integer> MINUTES = Setting.of("app.job.<name>.minutes", Setting.INTEGER).withDefault("1");

    static final Catalog CATALOG = new Catalog(List.of("header"),
            List.of(new SettingGroup("part", "", List.of(COUNT, WAIT, DIR, TOKEN, MODE)),
                    new SettingGroup("jobs", "", List.of(ROOTS, TIMEOUT, MINUTES))),
            List.of(new Catalog.PassThrough("lib.", "APP_LIB_", "lib", "", n -> n.equals("known.key"),
                    n -> n.contains("password"), List.of())));

    @Test
    void defaultsThenFileThenEnvironmentThenCommandLine() {
        Configuration c = Configuration.load(CATALOG, Map.of("app.part.count", "3", "app.part.wait-seconds", "7"),
                "file f", Map.of("APP_PART_COUNT", "4"));
        assertThat(c.get(COUNT)).isEqualTo(4);
        assertThat(c.source("app.part.count")).isEqualTo("environment APP_PART_COUNT");
        assertThat(c.get(WAIT)).isEqualTo(Duration.ofSeconds(7));
        assertThat(c.source("app.part.wait-seconds")).isEqualTo("file f");
        assertThat(c.get(DIR)).isEqualTo(Path.of(System.getProperty("user.home"), "x"));
        assertThat(c.source("app.part.dir")).isEqualTo("default");
        assertThat(c.get(MODE)).isEqualTo(Mode.FAST);
        Configuration flag = c.with("app.part.count", "5", "command line --count");
        assertThat(flag.get(COUNT)).isEqualTo(5);
        assertThat(flag.source("app.part.count")).isEqualTo("command line --count");
        assertThat(Configuration.load(CATALOG, Map.of("app.part.mode", "slow-and-steady"), "f", Map.of()).get(MODE))
                .isEqualTo(Mode.SLOW_AND_STEADY);
    }

    @Test
    void blankValuesMeanTheDefault() {
        Configuration c = Configuration.load(CATALOG, Map.of("app.part.count", " ", "app.part.token", ""), "f", Map.of());
        assertThat(c.get(COUNT)).isEqualTo(2);
        assertThat(c.get(TOKEN)).isNull();
    }

    @Test
    void everyProblemIsReportedAtOnceWithTheClosestValidName() {
        SettingsException e = catchThrowableOfType(SettingsException.class, () -> Configuration.load(CATALOG,
                Map.of("app.part.cuont", "3", "app.part.count", "0", "app.part.mode", "warp", "app.job.j1.minuts", "2"),
                "file f", Map.of("APP_PART_WAIT_SECOND", "1", "APP_PART_DIR", "/d", "UNRELATED_VAR", "x")));
        assertThat(e.problems()).containsExactlyInAnyOrder(
                "app.part.cuont (file f): unknown setting; did you mean app.part.count?",
                "app.part.count (file f): must be >= 1, got '0'",
                "app.part.mode (file f): '" + "warp' is not one of [fast, slow-and-steady]",
                "app.job.j1.minuts (file f): unknown setting; did you mean app.job.j1.minutes?",
                "APP_PART_WAIT_SECOND (environment): names no setting; did you mean APP_PART_WAIT_SECONDS?");
        assertThat(e.getMessage()).startsWith("configuration: 5 problems:");
    }

    @Test
    void badNumbersAndBooleansNameTheirKey() {
        assertThatThrownBy(() -> Configuration.load(CATALOG, Map.of("app.part.wait-seconds", "soon"), "f", Map.of()))
                .hasMessageContaining("app.part.wait-seconds (f): not an integer: 'soon'");
    }

    @Test
    void templatesExistOncePerNameAndTheEnvironmentFindsTheNameOfTheFile() {
        Configuration c = Configuration.load(CATALOG, Map.of("app.job.my-job.roots", "/a, /b"), "f",
                Map.of("APP_JOB_MY_JOB_RESULT_TIMEOUT_MINUTES", "9", "APP_JOB_OTHER_ROOTS", "/c",
                        "APP_JOB_OTHER_MINUTES", "4"));
        assertThat(c.names(ROOTS)).containsExactly("my-job", "other");
        assertThat(c.get(ROOTS, "my-job")).containsExactly("/a", "/b");
        // the longest matching suffix wins: _RESULT_TIMEOUT_MINUTES, not _MINUTES
        assertThat(c.get(TIMEOUT, "my-job")).isEqualTo(9);
        assertThat(c.get(MINUTES, "my-job")).isEqualTo(1);
        assertThat(c.get(ROOTS, "other")).containsExactly("/c");
        assertThat(c.get(MINUTES, "other")).isEqualTo(4);
        assertThatThrownBy(() -> Configuration.load(CATALOG, Map.of("app.job.bad name.roots", "/x"), "f", Map.of()))
                .hasMessageContaining("the name 'bad name'");
    }

    @Test
    void passThroughKeysComeFromFileAndEnvironmentAndUnknownOnesAreWarnings() {
        Configuration c = Configuration.load(CATALOG, Map.of("lib.known.key", "1", "lib.odd.key", "2"), "f",
                Map.of("APP_LIB_DB_PASSWORD", "hunter2"));
        assertThat(c.passedThrough("lib.")).containsEntry("known.key", "1").containsEntry("odd.key", "2")
                .containsEntry("db.password", "hunter2");
        assertThat(c.warnings()).hasSize(2).anyMatch(w -> w.startsWith("lib.odd.key (f): not a setting"));
        String shown = c.describe();
        assertThat(shown).contains("lib.db.password=****").doesNotContain("hunter2");
    }

    @Test
    void secretsAreMaskedAndSourcesShown() {
        Configuration c = Configuration.load(CATALOG, Map.of("app.part.token", "s3cr3t"), "file f", Map.of());
        assertThat(c.get(TOKEN)).isEqualTo("s3cr3t");
        String shown = c.describe();
        assertThat(shown).doesNotContain("s3cr3t").containsPattern("app\\.part\\.token=\\*\\*\\*\\* +# file f")
                .containsPattern("app\\.part\\.count=2 +# default");
    }

    @Test
    void undeclaredSettingsCannotBeRead() {
        Setting<Integer> stray = Setting.of("app.part.stray", Setting.INTEGER).withDefault("1");
        assertThatThrownBy(() -> Configuration.defaults(CATALOG).get(stray)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not declared");
    }

    @Test
    void twoKeysCannotShareAVariable() {
        Setting<String> a = Setting.of("app.a-b", Setting.STRING);
        Setting<String> b = Setting.of("app.a.b", Setting.STRING);
        assertThatThrownBy(() -> new Catalog(List.of(), List.of(new SettingGroup("g", "", List.of(a, b))), List.of()))
                .hasMessageContaining("APP_A_B");
    }

    @Test
    void referenceWritesEveryFixedKeyWithItsDefaultAndVariable() {
        String ref = CATALOG.reference();
        assertThat(ref).contains("# How many.\n# integer, >= 1; environment APP_PART_COUNT\napp.part.count=2\n")
                .contains("app.part.token=\n").contains("#   app.job.<name>.roots  (list)");
        assertThat(CATALOG.markdown()).contains("| `app.part.count` | `APP_PART_COUNT` | integer, >= 1 | `2` | How many. |");
    }
}
