package io.guestflow.processors.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.guestflow.pool.LuksKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Key files: the engine's secrets dir policy and the virt tools' first-line rule. */
class KeyFilesTest {
    private static final String PASS = "correct horse battery";

    @TempDir
    Path tmp;
    private Path dir;
    private Path outside;

    @BeforeEach
    void files() throws Exception {
        dir = Files.createDirectories(tmp.resolve("secrets"));
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(dir.resolve("root.key"), PASS + "\nsecond line is not the key\n");
        Files.createDirectories(dir.resolve("web"));
        Files.writeString(dir.resolve("web/home.key"), "no-newline");
        Files.writeString(outside.resolve("stolen.key"), "outside-secret\n");
    }

    private static Job job(Job.Key... keys) {
        return new Job("j1", "inspect", List.of(new Job.Disk("/img/a.qcow2", null, null)), null, null, 60, Map.of(),
                false, false, List.of(keys));
    }

    private String refusal(Job job, Path secretsDir) {
        JobRejectedException e = catchThrowableOfType(JobRejectedException.class,
                () -> KeySource.secretsDir(secretsDir).keys(job));
        assertThat(e).isNotNull();
        assertThat(e.jobId()).isEqualTo("j1");
        assertThat(e.reason()).doesNotContain(PASS).doesNotContain("outside-secret");
        return e.reason();
    }

    @Test
    void theKeyIsTheFirstLineWithoutItsNewline() throws Exception {
        List<LuksKey> keys = KeySource.secretsDir(dir).keys(job(new Job.Key("/dev/sda2", "root.key"),
                new Job.Key("all", "web/home.key"), new Job.Key("/dev/vg/lv", dir.resolve("root.key").toString())));
        assertThat(keys).containsExactly(new LuksKey("/dev/sda2", PASS), new LuksKey("all", "no-newline"),
                new LuksKey("/dev/vg/lv", PASS));
        // as the virt tools read it: only the \n goes, a \r before it is part of the key
        Files.writeString(dir.resolve("crlf"), "abc\r\n");
        assertThat(KeySource.secretsDir(dir).keys(job(new Job.Key("all", "crlf"))).get(0).passphrase()).isEqualTo("abc\r");
        assertThat(KeySource.secretsDir(dir).keys(job())).isEmpty();
        assertThat(KeySource.NONE.keys(job())).isEmpty();
    }

    @Test
    void withoutASecretsDirAJobWithKeysIsRefusedNamingTheSetting() {
        assertThat(refusal(job(new Job.Key("all", "root.key")), null)).contains("guestflow.engine.secrets-dir")
                .contains("no secrets dir");
        assertThat(catchThrowableOfType(JobRejectedException.class,
                () -> KeySource.NONE.keys(job(new Job.Key("all", "root.key")))).reason()).contains("secrets-dir");
    }

    @Test
    void filesOutsideTheDirAreRefused() throws Exception {
        assertThat(refusal(job(new Job.Key("all", "../outside/stolen.key")), dir)).isEqualTo(
                "keys[0].file '../outside/stolen.key' is not inside guestflow.engine.secrets-dir (paths and symlinks must stay in it)");
        assertThat(refusal(job(new Job.Key("all", outside.resolve("stolen.key").toString())), dir))
                .contains("is not inside guestflow.engine.secrets-dir");
        Files.createSymbolicLink(dir.resolve("link.key"), outside.resolve("stolen.key"));
        assertThat(refusal(job(new Job.Key("all", "link.key")), dir)).contains("is not inside");
        Files.createSymbolicLink(dir.resolve("linkdir"), outside);
        assertThat(refusal(job(new Job.Key("all", "linkdir/stolen.key")), dir)).contains("is not inside");
        assertThat(refusal(job(new Job.Key("all", ".")), dir)).contains("is not inside");
        // a symlink that stays inside is fine
        Files.createSymbolicLink(dir.resolve("alias.key"), dir.resolve("root.key"));
        assertThat(KeySource.secretsDir(dir).keys(job(new Job.Key("all", "alias.key"))).get(0).passphrase()).isEqualTo(PASS);
    }

    @Test
    void missingEmptyTooBigAndOtherFilesAreRefused() throws Exception {
        assertThat(refusal(job(new Job.Key("all", "nope.key")), dir)).isEqualTo(
                "keys[0].file 'nope.key' does not exist (under guestflow.engine.secrets-dir)");
        Files.createFile(dir.resolve("empty.key"));
        assertThat(refusal(job(new Job.Key("all", "empty.key")), dir)).isEqualTo("keys[0].file 'empty.key' is empty");
        Files.writeString(dir.resolve("blank.key"), "\n" + PASS + "\n");
        assertThat(refusal(job(new Job.Key("all", "blank.key")), dir)).contains("its first line is empty");
        Files.write(dir.resolve("big.key"), (PASS + "\n" + "x".repeat(KeyFiles.MAX_BYTES)).getBytes(StandardCharsets.UTF_8));
        assertThat(refusal(job(new Job.Key("all", "big.key")), dir)).contains("is larger than 8192 bytes");
        Files.write(dir.resolve("exact.key"), "y".repeat(KeyFiles.MAX_BYTES).getBytes(StandardCharsets.UTF_8));
        assertThat(KeySource.secretsDir(dir).keys(job(new Job.Key("all", "exact.key"))).get(0).passphrase())
                .hasSize(KeyFiles.MAX_BYTES);
        assertThat(refusal(job(new Job.Key("all", "web")), dir)).isEqualTo("keys[0].file 'web' is not a regular file");
        Files.write(dir.resolve("latin1.key"), new byte[] {(byte) 0xe9, 'a', '\n'});
        assertThat(refusal(job(new Job.Key("all", "latin1.key")), dir)).contains("is not UTF-8");
        // the second key is named in the reason, by its place and name
        assertThat(refusal(job(new Job.Key("/dev/sda2", "root.key"), new Job.Key("all", "gone")), dir))
                .startsWith("keys[1].file 'gone'");
        assertThat(refusal(job(new Job.Key("all", "root.key")), tmp.resolve("no-such-dir")))
                .contains("guestflow.engine.secrets-dir").contains("is not a readable directory");
    }

    @Test
    void theCommandLineReadsAnyFileWithTheSameContentRules() throws Exception {
        assertThat(KeyFiles.readLocal(job(new Job.Key("all", outside.resolve("stolen.key").toString()))))
                .containsExactly(new LuksKey("all", "outside-secret"));
        Files.createFile(outside.resolve("empty"));
        assertThat(catchThrowableOfType(JobRejectedException.class, () -> KeyFiles.readLocal(
                job(new Job.Key("all", outside.resolve("empty").toString())))).reason()).endsWith("is empty");
    }
}
