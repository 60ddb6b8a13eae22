package io.guestflow.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.guestflow.config.GuestflowConfig;
import io.guestflow.pool.ImagePolicy;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The settings issue 16 added: tmp root, debug switch, output mode, image allowlist and size limit. */
class EngineConfigTest {
    @Test
    void defaultsAreTheSafeOnes() {
        EngineConfig c = GuestflowConfig.engine(Map.of(), Map.of());
        assertThat(c.allowDebugJobs()).isFalse();
        assertThat(PosixFilePermissions.toString(c.outputMode())).isEqualTo("rw-r--r--");
        assertThat(c.tmpRoot()).isEqualTo(Path.of(System.getProperty("user.home"), ".guestflow", "tmp"));
        assertThat(c.pool().images().allowed()).isEqualTo(ImagePolicy.DEFAULT_ALLOWED);
        assertThat(c.pool().images().maxVirtualSize()).isEqualTo(16384L << 30);
    }

    @Test
    void propertiesAndEnvironmentSetThem() {
        EngineConfig c = GuestflowConfig.engine(Map.of("guestflow.engine.allow-debug-jobs", "true",
                "guestflow.engine.output-mode", "0640", "guestflow.pool.image-formats", "raw, qcow2, qcow2-data-file",
                "guestflow.pool.max-image-size-gib", "0"), Map.of("GUESTFLOW_ENGINE_TMP_ROOT", "/srv/tmp"));
        assertThat(c.allowDebugJobs()).isTrue();
        assertThat(PosixFilePermissions.toString(c.outputMode())).isEqualTo("rw-r-----");
        assertThat(c.tmpRoot()).isEqualTo(Path.of("/srv/tmp"));
        assertThat(c.pool().images().allowed()).isEqualTo(Set.of("raw", "qcow2", "qcow2-data-file"));
        assertThat(c.pool().images().maxVirtualSize()).isZero();
    }

    @Test
    void badValuesAreRefusedWithTheKey() {
        for (String[] bad : new String[][] {{"guestflow.engine.output-mode", "4755"}, {"guestflow.engine.output-mode", "rw"},
            {"guestflow.engine.allow-debug-jobs", "yes"}, {"guestflow.pool.image-formats", "raw,qed"},
            {"guestflow.pool.max-image-size-gib", "-1"}}) {
            IllegalArgumentException e = catchThrowableOfType(IllegalArgumentException.class,
                    () -> GuestflowConfig.engine(Map.of(bad[0], bad[1]), Map.of()));
            assertThat(e).as("%s=%s", bad[0], bad[1]).isNotNull();
        }
        assertThat(catchThrowableOfType(IllegalArgumentException.class, () -> GuestflowConfig.engine(
                Map.of("guestflow.pool.image-formats", "raw,qed"), Map.of())).getMessage()).contains("qed").contains("vmdk-descriptor");
    }
}
