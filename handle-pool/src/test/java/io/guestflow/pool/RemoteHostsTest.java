package io.guestflow.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;

class RemoteHostsTest {

    @Test
    void emptyAllowsNothing() {
        RemoteHosts none = RemoteHosts.parse("");
        assertThat(none.isEmpty()).isTrue();
        assertThat(none.allows(URI.create("nbd://localhost/x"))).isFalse();
    }

    @Test
    void namesAreComparedNormalised() {
        RemoteHosts h = RemoteHosts.parse(" Storage.Example. , cdn.example:8443,[FD00::5]:10809 ");
        assertThat(h.toString()).isEqualTo("storage.example,cdn.example:8443,[fd00:0:0:0:0:0:0:5]:10809");
        assertThat(h.allows(URI.create("nbd://STORAGE.example./web"))).isTrue();
        assertThat(h.allows(URI.create("ssh://root@storage.example:2222/vm.img"))).isTrue(); // any port
        assertThat(h.allows(URI.create("https://cdn.example:8443/a.img"))).isTrue();
        assertThat(h.allows(URI.create("https://cdn.example/a.img"))).isFalse(); // 443
        assertThat(h.allows(URI.create("nbd://[fd00:0:0::5]/x"))).isTrue(); // default nbd port 10809
        assertThat(h.allows(URI.create("nbd://[fd00::5]:10810/x"))).isFalse();
        assertThat(h.allows(URI.create("nbd://storage.example.evil/x"))).isFalse();
        assertThat(h.allows(URI.create("nbd://evil-storage.example/x"))).isFalse();
    }

    @Test
    void noLookups() {
        // localhost and 127.0.0.1 are different names: nothing is resolved
        RemoteHosts h = RemoteHosts.parse("127.0.0.1");
        assertThat(h.allows(URI.create("nbd://localhost/x"))).isFalse();
        assertThat(h.allows(URI.create("nbd://127.0.0.1/x"))).isTrue();
    }

    @Test
    void badEntriesAreRefusedWithTheEntry() {
        assertThatThrownBy(() -> RemoteHosts.parse("fd00::5")).hasMessageContaining("brackets");
        assertThatThrownBy(() -> RemoteHosts.parse("h:0")).hasMessageContaining("'h:0': the port must be 1-65535");
        assertThatThrownBy(() -> RemoteHosts.parse("h:x")).hasMessageContaining("port");
        assertThatThrownBy(() -> RemoteHosts.parse("[fd00::5")).hasMessageContaining("closing bracket");
        assertThatThrownBy(() -> RemoteHosts.parse("user@h")).hasMessageContaining("not a host name");
        assertThatThrownBy(() -> RemoteHosts.parse("h/x")).hasMessageContaining("not a host name");
    }

    @Test
    void theSettingParsesAndDefaultsToNone() {
        assertThat(PoolConfig.defaults().images().remoteHosts().isEmpty()).isTrue();
        PoolConfig c = PoolConfig.fromProperties(java.util.Map.of("guestflow.pool.remote-hosts", "a.example"), java.util.Map.of());
        assertThat(c.images().remoteHosts().allows(URI.create("http://a.example/x"))).isTrue();
        assertThatThrownBy(() -> PoolConfig.fromProperties(java.util.Map.of("guestflow.pool.remote-hosts", "a:99999"),
                java.util.Map.of())).hasMessageContaining("guestflow.pool.remote-hosts");
    }

    @Test
    void theTimeoutSettingDefaultsTo60AndIsValidated() {
        assertThat(PoolConfig.defaults().images().remoteHosts().timeoutSeconds()).isEqualTo(60);
        assertThat(PoolConfig.fromProperties(java.util.Map.of("guestflow.pool.remote-timeout-seconds", "120"),
                java.util.Map.of()).images().remoteHosts().timeoutSeconds()).isEqualTo(120);
        assertThatThrownBy(() -> PoolConfig.fromProperties(java.util.Map.of("guestflow.pool.remote-timeout-seconds", "0"),
                java.util.Map.of())).hasMessageContaining("guestflow.pool.remote-timeout-seconds");
    }

    @Test
    void remoteWritesAreOffByDefaultAndNameTheSetting() {
        PoolConfig off = PoolConfig.defaults();
        assertThat(off.images().remoteHosts().writes()).isFalse();
        Drive nbd = Drive.of("nbd://a.example/web").withFormat("raw");
        assertThat(off.images().remoteHosts().refusesWrites(nbd)).contains("guestflow.pool.remote-writes=true");
        assertThat(off.images().remoteHosts().refusesWrites(Drive.of("/images/a.img"))).isNull();
        assertThatThrownBy(() -> PoolConfig.fromProperties(java.util.Map.of("guestflow.pool.remote-writes", "yes please"),
                java.util.Map.of())).hasMessageContaining("guestflow.pool.remote-writes");
    }

    @Test
    void remoteWritesAllowNbdAndSshButNeverHttp() {
        PoolConfig on = PoolConfig.fromProperties(java.util.Map.of("guestflow.pool.remote-hosts", "a.example",
                "guestflow.pool.remote-writes", "true"), java.util.Map.of());
        RemoteHosts h = on.images().remoteHosts();
        assertThat(h.writes()).isTrue();
        assertThat(h.refusesWrites(Drive.of("nbd://a.example/web"))).isNull();
        assertThat(h.refusesWrites(Drive.of("ssh://root@a.example/vm.img"))).isNull();
        assertThat(h.refusesWrites(Drive.of("https://a.example/d.img?sig=s3cr3t"))).contains("https disks are read-only")
                .contains("curl driver cannot write").doesNotContain("s3cr3t");
        assertThat(h.refusesWrites(Drive.of("http://a.example/d.img"))).contains("http disks are read-only");
        // the host rule stays check's alone: writes allowed do not allow another host
        assertThatThrownBy(() -> h.check(Drive.of("nbd://b.example/web"))).hasMessageContaining("names host b.example");
    }
}
