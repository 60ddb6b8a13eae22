package io.guestflow.processors.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.guestflow.processors.JobOperations;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A job's keys: by reference only, selectors checked, inline keys refused and never repeated. */
class JobKeysTest {
    private static final String SECRET = "s3cr3t-Passphrase";
    private final JobParser parser = new JobParser(JobOperations.defaults());

    private Job parse(String json) {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private String rejection(String json) {
        JobRejectedException e = catchThrowableOfType(JobRejectedException.class, () -> parse(json));
        assertThat(e).as("rejected: %s", json).isNotNull();
        assertThat(e.jobId()).isEqualTo("j1");
        return e.reason();
    }

    private static String job(String type, String extra) {
        return "{\"jobId\":\"j1\",\"type\":\"" + type + "\",\"disks\":[{\"uri\":\"/img/a.qcow2\"}]" + extra + "}";
    }

    @Test
    void keysByReferenceAreParsedInOrder() {
        Job j = parse(job("inspect", ",\"keys\":[{\"device\":\"/dev/sda2\",\"file\":\"web/root.key\"},"
                + "{\"device\":\"0b3f6c2e-9d4a-4c1e-8f7b-2a5d6e8f9a01\",\"file\":\"/srv/secrets/home.key\"},"
                + "{\"device\":\"all\",\"file\":\"fallback\"},{\"device\":\"/dev/vg0/lv_home\",\"file\":\"k\"}]"));
        assertThat(j.keys()).containsExactly(new Job.Key("/dev/sda2", "web/root.key"),
                new Job.Key("0b3f6c2e-9d4a-4c1e-8f7b-2a5d6e8f9a01", "/srv/secrets/home.key"),
                new Job.Key("all", "fallback"), new Job.Key("/dev/vg0/lv_home", "k"));
        assertThat(parse(job("inspect", "")).keys()).isEmpty();
        assertThat(parse(job("inspect", ",\"keys\":null")).keys()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        ",\"key\":\"" + SECRET + "\"",
        ",\"passphrase\":\"" + SECRET + "\"",
        ",\"keys\":\"" + SECRET + "\"",
        ",\"keys\":[\"" + SECRET + "\"]",
        ",\"keys\":{\"/dev/sda2\":\"" + SECRET + "\"}",
        ",\"keys\":[{\"device\":\"all\",\"key\":\"" + SECRET + "\"}]",
        ",\"keys\":[{\"device\":\"all\",\"file\":\"k\",\"passphrase\":\"" + SECRET + "\"}]",
        ",\"keys\":[{\"device\":\"all\",\"file\":{\"key\":\"" + SECRET + "\"}}]",
        ",\"keys\":[{\"device\":\"all\",\"" + SECRET + "\":true}]"})
    void aKeyGivenInlineIsRefusedSayingKeysAreFilesAndNeverRepeated(String extra) {
        for (String type : List.of("inspect", "resize", "info")) {
            String reason = rejection(job(type, extra));
            assertThat(reason).contains("keys are given by file").doesNotContain(SECRET);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sda2", "/dev/", "/dev/sda2;rm", "/dev/../etc/passwd", "/dev/vg/..", "all ", "ALL",
        "/dev/a/b/c", "0b3f6c2e-9d4a-4c1e-8f7b", "/etc/shadow"})
    void badSelectorsAreRefused(String selector) {
        assertThat(rejection(job("inspect", ",\"keys\":[{\"device\":\"" + selector + "\",\"file\":\"k\"}]")))
                .startsWith("keys[0].device: ").contains("not a device selector");
        assertThat(JobKeys.selectorProblem(selector)).isNotNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/dev/sda2", "/dev/vdb", "/dev/nvme0n1p3", "/dev/md127", "/dev/VolGroup00/LogVol01",
        "/dev/mapper/luks-root", "/dev/disk/guestfs/root1", "all", "0B3F6C2E-9D4A-4C1E-8F7B-2A5D6E8F9A01"})
    void selectorsOfTheVirtToolsAreTaken(String selector) {
        assertThat(JobKeys.selectorProblem(selector)).isNull();
    }

    @Test
    void aSelectorTwiceIsRefused() {
        assertThat(rejection(job("inspect", ",\"keys\":[{\"device\":\"/dev/sda2\",\"file\":\"a\"},"
                + "{\"device\":\"/dev/sda2\",\"file\":\"b\"}]"))).isEqualTo(
                "keys[1].device: '/dev/sda2' has a key already (one key per selector)");
        // a UUID is the same selector in either case
        assertThat(rejection(job("inspect", ",\"keys\":[{\"device\":\"0b3f6c2e-9d4a-4c1e-8f7b-2a5d6e8f9a01\",\"file\":\"a\"},"
                + "{\"device\":\"0B3F6C2E-9D4A-4C1E-8F7B-2A5D6E8F9A01\",\"file\":\"b\"}]"))).contains("has a key already");
    }

    @Test
    void schemaShapeOfKeysIsSaidInWords() {
        assertThat(rejection(job("inspect", ",\"keys\":[{\"device\":\"all\"}]"))).isEqualTo("keys[0].file is required");
        assertThat(rejection(job("inspect", ",\"keys\":[{\"device\":\"all\",\"file\":\"\"}]")))
                .startsWith("keys[0].file must be a path");
    }

    @Test
    void resizeAndInfoRefuseKeysWithTheirReason() {
        String keys = ",\"keys\":[{\"device\":\"all\",\"file\":\"k\"}]";
        assertThat(rejection(job("resize", ",\"output\":{\"uri\":\"/out/b.qcow2\"},\"options\":{\"size\":\"+1G\"}" + keys)))
                .startsWith("keys: resize takes no keys: virt-resize").contains("has no --key")
                .contains("copies an encrypted partition as it is");
        assertThat(rejection(job("info", keys))).startsWith("keys: info launches no appliance");
        // a pipeline's keys open the guest on every launch: a resize step cannot take them
        assertThat(rejection(job("pipeline", ",\"output\":{\"uri\":\"/out/b.qcow2\"},\"options\":{\"steps\":["
                + "{\"type\":\"inspect\"},{\"type\":\"resize\",\"options\":{\"size\":\"+1G\"}}]}" + keys)))
                .startsWith("steps[1] (resize): keys: resize takes no keys");
        for (String type : List.of("inspect", "sysprep", "journal")) {
            assertThat(parse(job(type, keys)).keys()).hasSize(1);
        }
        assertThat(parse(job("sparsify", ",\"options\":{\"inPlace\":true}" + keys)).keys()).hasSize(1);
        assertThat(parse(job("sparsify", ",\"output\":{\"uri\":\"/out/b.qcow2\"}" + keys)).keys()).hasSize(1);
        assertThat(parse(job("pipeline", ",\"options\":{\"steps\":[{\"type\":\"sysprep\"},{\"type\":\"inspect\"}]}"
                + keys)).keys()).hasSize(1);
    }

    @Test
    void deadLettersKeepNoInlineKey() {
        byte[] clean = "{\"type\":\"inspect\",\"keys\":[{\"device\":\"all\",\"file\":\"k\"}]}".getBytes(StandardCharsets.UTF_8);
        assertThat(JobKeys.redactInline(clean)).isSameAs(clean);
        byte[] notJson = "just some bytes".getBytes(StandardCharsets.UTF_8);
        assertThat(JobKeys.redactInline(notJson)).isSameAs(notJson);
        for (String raw : List.of(
                "{\"type\":\"inspect\",\"passphrase\":\"" + SECRET + "\"}",
                "{\"jobId\":\"\",\"keys\":[{\"device\":\"all\",\"key\":\"" + SECRET + "\"}]}",
                "{\"jobId\":\"\",\"keys\":[{\"device\":\"all\",\"" + SECRET + "\":1}]}",
                "{\"jobId\":\"\",\"keys\":\"" + SECRET + "\"}",
                "[{\"key\":\"" + SECRET + "\"}]",
                "{\"jobId\":\"a\",\"jobId\":\"b\",\"key\":\"" + SECRET + "\"}")) {
            String out = new String(JobKeys.redactInline(raw.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
            assertThat(out).as(raw).doesNotContain(SECRET).contains("***");
        }
        // not JSON, but it names a key: nothing of it is kept
        assertThat(JobKeys.redactInline(("{\"jobId\":\"x\",\"passphrase\":\"" + SECRET)
                .getBytes(StandardCharsets.UTF_8))).isEmpty();
    }

    @Test
    void theShippedExampleParses() throws Exception {
        Job j = parser.parse(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("../config/examples/inspect-luks.json")));
        assertThat(j.keys()).containsExactly(new Job.Key("/dev/sda2", "web01/root.key"),
                new Job.Key("all", "fleet-default.key"));
    }

    @Test
    void keysNeverPrint() {
        Job j = parse(job("inspect", ",\"keys\":[{\"device\":\"all\",\"file\":\"k\"}]"));
        assertThat(new io.guestflow.pool.LuksKey("all", SECRET).toString()).doesNotContain(SECRET);
        assertThat(j.toString()).contains("Key[device=all, file=k]");
    }
}
