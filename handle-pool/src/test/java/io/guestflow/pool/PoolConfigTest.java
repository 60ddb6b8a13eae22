package io.guestflow.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PoolConfigTest {

    @Test
    void propertiesOverrideDefaultsAndEnvironmentOverridesProperties() {
        PoolConfig c = PoolConfig.fromProperties(Map.of(
                "guestflow.pool.max-appliances", "3",
                "guestflow.pool.acceleration", "kvm",
                "guestflow.pool.launch-timeout-seconds", "42",
                "guestflow.pool.tmp-dir", "/var/tmp/gf"),
                Map.of("GUESTFLOW_POOL_ACCELERATION", "tcg", "GUESTFLOW_POOL_ALLOW_BACKING_FILES", "true"));
        assertThat(c.maxAppliances()).isEqualTo(3);
        assertThat(c.acceleration()).isEqualTo(Acceleration.TCG);
        assertThat(c.launchTimeout()).isEqualTo(Duration.ofSeconds(42));
        assertThat(c.tmpDir()).isEqualTo(Path.of("/var/tmp/gf"));
        assertThat(c.allowBackingFiles()).isTrue();
        assertThat(c.leaseTimeout()).isEqualTo(PoolConfig.defaults().leaseTimeout());
    }

    @Test
    void theApplianceIsChosenBySettingAndTheOthersAreOneSettingAway() {
        assertThat(PoolConfig.fromProperties(Map.of("guestflow.pool.appliance", "supermin"), Map.of()).appliance())
                .isEqualTo(ApplianceKind.SUPERMIN);
        assertThat(PoolConfig.fromProperties(Map.of("guestflow.pool.appliance", "supermin"),
                Map.of("GUESTFLOW_POOL_APPLIANCE", "fixed-all-lenses")).appliance()).isEqualTo(ApplianceKind.FIXED_ALL_LENSES);
        assertThat(PoolConfig.fromProperties(Map.of("guestflow.pool.appliance", "fixed"), Map.of()).appliance())
                .isEqualTo(ApplianceKind.FIXED);
        assertThat(PoolConfig.defaults().withAppliance(ApplianceKind.SUPERMIN).appliance()).isEqualTo(ApplianceKind.SUPERMIN);
    }

    @Test
    void blankValuesKeepDefaults() {
        PoolConfig c = PoolConfig.fromProperties(Map.of("guestflow.pool.cache-dir", "", "guestflow.pool.smp", " "), Map.of());
        assertThat(c).isEqualTo(PoolConfig.defaults());
    }

    @Test
    void badValuesAreClearErrors() {
        assertThat(catchThrowableOfType(IllegalArgumentException.class, () -> PoolConfig.fromProperties(
                Map.of("guestflow.pool.acceleration", "warp"), Map.of()))).hasMessageContaining("auto, kvm or tcg");
        assertThat(catchThrowableOfType(IllegalArgumentException.class, () -> PoolConfig.fromProperties(
                Map.of("guestflow.pool.smp", "two"), Map.of()))).hasMessageContaining("guestflow.pool.smp").hasMessageContaining("not an integer");
        assertThat(catchThrowableOfType(IllegalArgumentException.class, () -> PoolConfig.fromProperties(
                Map.of("guestflow.pool.trace", "yes"), Map.of()))).hasMessageContaining("true or false");
        assertThat(catchThrowableOfType(IllegalArgumentException.class, () -> PoolConfig.fromProperties(
                Map.of("guestflow.pool.appliance", "frozen"), Map.of())))
                .hasMessageContaining("guestflow.pool.appliance").hasMessageContaining("supermin, fixed, fixed-all-lenses");
    }

    @Test
    void derivedCapacityIsAtLeastOneAndAtMostTheCores() {
        int n = PoolConfig.defaults().effectiveMaxAppliances();
        assertThat(n).isBetween(1, Runtime.getRuntime().availableProcessors());
        assertThat(PoolConfig.defaults().withMaxAppliances(7).effectiveMaxAppliances()).isEqualTo(7);
        // an absurd appliance size leaves room for one only
        assertThat(PoolConfig.defaults().withMemsizeMb(10_000_000).effectiveMaxAppliances()).isEqualTo(1);
    }
}
