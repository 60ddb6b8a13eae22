package io.guestflow.scan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.config.GuestflowConfig;
import io.guestflow.engine.Engine;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScanConfigTest {
    private static final ObjectMapper JSON = Engine.json();

    private static Map<String, String> nightly() {
        Map<String, String> p = new HashMap<>();
        p.put("guestflow.scan.nightly.cron", "0 30 2 * * ?");
        p.put("guestflow.scan.nightly.time-zone", "Europe/Paris");
        p.put("guestflow.scan.nightly.roots", "/srv/images, /srv/templates");
        p.put("guestflow.scan.nightly.include", "*.qcow2,golden/**");
        p.put("guestflow.scan.nightly.exclude", "*-tmp.qcow2");
        p.put("guestflow.scan.nightly.options", "{\"applications\":false}");
        p.put("guestflow.scan.nightly.incremental", "false");
        p.put("guestflow.scan.nightly.fingerprint", "sha256");
        p.put("guestflow.scan.nightly.misfire", "skip");
        p.put("guestflow.scan.nightly.result-timeout-minutes", "90");
        return p;
    }

    @Test
    void everyKeyIsRead() {
        ScanConfig s = GuestflowConfig.scan("nightly", nightly(), Map.of());
        assertThat(s.cron()).isEqualTo("0 30 2 * * ?");
        assertThat(s.timeZone()).isEqualTo(ZoneId.of("Europe/Paris"));
        assertThat(s.roots()).containsExactly(Path.of("/srv/images"), Path.of("/srv/templates"));
        assertThat(s.include()).containsExactly("*.qcow2", "golden/**");
        assertThat(s.exclude()).containsExactly("*-tmp.qcow2");
        assertThat(s.type()).isEqualTo("inspect");
        assertThat(s.options().path("applications").asBoolean(true)).isFalse();
        assertThat(s.incremental()).isFalse();
        assertThat(s.fingerprint()).isEqualTo(ScanConfig.Fingerprint.SHA256);
        assertThat(s.misfire()).isEqualTo(ScanConfig.Misfire.SKIP);
        assertThat(s.resultTimeout()).isEqualTo(Duration.ofMinutes(90));
    }

    @Test
    void defaultsForWhatIsNotSet() {
        ScanConfig s = GuestflowConfig.scan("mini", Map.of("guestflow.scan.mini.roots", "/srv/images"), Map.of());
        assertThat(s.cron()).isNull();
        assertThat(s.type()).isEqualTo("inspect");
        assertThat(s.include()).isEqualTo(ScanConfig.DEFAULT_INCLUDE);
        assertThat(s.exclude()).isEmpty();
        assertThat(s.incremental()).isTrue();
        assertThat(s.fingerprint()).isEqualTo(ScanConfig.Fingerprint.METADATA);
        assertThat(s.misfire()).isEqualTo(ScanConfig.Misfire.FIRE_ONCE_NOW);
        assertThat(s.timeZone()).isEqualTo(ZoneId.systemDefault());
        assertThat(s.options().isEmpty()).isTrue();
    }

    @Test
    void environmentOverridesTheFile() {
        ScanConfig s = GuestflowConfig.scan("nightly", nightly(),
                Map.of("GUESTFLOW_SCAN_NIGHTLY_CRON", "0 0 4 ? * SUN", "GUESTFLOW_SCAN_NIGHTLY_ROOTS", "/mnt/a"));
        assertThat(s.cron()).isEqualTo("0 0 4 ? * SUN");
        assertThat(s.roots()).containsExactly(Path.of("/mnt/a"));
    }

    @Test
    void allFindsEveryScanByItsRootsKey() {
        Map<String, String> p = nightly();
        p.put("guestflow.scan.weekly-templates.roots", "/srv/templates");
        p.put("guestflow.scan.weekly-templates.cron", "0 0 3 ? * SAT");
        p.put("guestflow.engine.image-root", "/srv");
        List<ScanConfig> all = GuestflowConfig.scans(p, Map.of());
        assertThat(all).extracting(ScanConfig::name).containsExactly("nightly", "weekly-templates");
    }

    @Test
    void mistakesAreReportedWithTheKey() {
        Map<String, String> p = nightly();
        p.put("guestflow.scan.nightly.cron", "every night");
        assertThatThrownBy(() -> GuestflowConfig.scan("nightly", p, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("guestflow.scan.nightly.cron");
        p.putAll(nightly());
        p.put("guestflow.scan.nightly.time-zone", "Mars/Olympus");
        assertThatThrownBy(() -> GuestflowConfig.scan("nightly", p, Map.of())).hasMessageContaining("time-zone");
        p.putAll(nightly());
        p.put("guestflow.scan.nightly.options", "[1,2]");
        assertThatThrownBy(() -> GuestflowConfig.scan("nightly", p, Map.of())).hasMessageContaining("options must be a JSON object");
        p.putAll(nightly());
        p.put("guestflow.scan.nightly.incremental", "yes");
        assertThatThrownBy(() -> GuestflowConfig.scan("nightly", p, Map.of())).hasMessageContaining("incremental");
        p.putAll(nightly());
        p.put("guestflow.scan.nightly.fingerprint", "md5");
        assertThatThrownBy(() -> GuestflowConfig.scan("nightly", p, Map.of())).hasMessageContaining("[metadata, sha256]");
        p.putAll(nightly());
        p.remove("guestflow.scan.nightly.roots");
        assertThatThrownBy(() -> GuestflowConfig.scan("nightly", p, Map.of())).hasMessageContaining("roots");
        assertThatThrownBy(() -> GuestflowConfig.scan("bad name", Map.of("guestflow.scan.bad name.roots", "/x"), Map.of()))
                .hasMessageContaining("the name 'bad name'");
    }

    @Test
    void reportsDirFromEngineKeyOrEnvironment() {
        assertThat(GuestflowConfig.reportsDir(Map.of("guestflow.engine.reports-dir", "/var/reports"), Map.of()))
                .isEqualTo(Path.of("/var/reports"));
        assertThat(GuestflowConfig.reportsDir(Map.of("guestflow.engine.reports-dir", "/var/reports"),
                Map.of("GUESTFLOW_ENGINE_REPORTS_DIR", "/tmp/r"))).isEqualTo(Path.of("/tmp/r"));
        assertThat(GuestflowConfig.reportsDir(Map.of(), Map.of()))
                .isEqualTo(Path.of(System.getProperty("user.home"), ".guestflow", "reports"));
    }
}
