package io.guestflow.processors.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PathPolicyTest {
    @TempDir
    Path tmp;
    Path images;
    Path out;
    PathPolicy policy;

    @BeforeEach
    void setUp() throws Exception {
        images = Files.createDirectories(tmp.resolve("images"));
        out = Files.createDirectories(tmp.resolve("out"));
        Files.write(images.resolve("web01.qcow2"), new byte[16]);
        Files.write(tmp.resolve("secret.img"), new byte[16]);
        policy = new PathPolicy(images, out);
    }

    private static Job job(String disk, String output) {
        return new Job("j1", "inspect", List.of(new Job.Disk(disk, null, null)),
                output == null ? null : new Job.Output(output, null), JsonNodeFactory.instance.objectNode(), 60, Map.of(), false);
    }

    private String reason(String disk, String output) {
        JobRejectedException e = catchThrowableOfType(JobRejectedException.class, () -> policy.check(job(disk, output)));
        assertThat(e).as("%s -> %s should be refused", disk, output).isNotNull();
        return e.reason();
    }

    @Test
    void diskAndOutputUnderTheirRootsPass() {
        assertThatCode(() -> policy.check(job(images.resolve("web01.qcow2").toUri().toString(),
                out.resolve("web01.qcow2").toString()))).doesNotThrowAnyException();
        assertThatCode(() -> policy.check(job("nbd://storage:10809/export", null))).doesNotThrowAnyException();
    }

    @Test
    void escapesAreRefused() throws Exception {
        assertThat(reason(images + "/../secret.img", null)).contains("outside the allowed root");
        assertThat(reason(tmp.resolve("secret.img").toString(), null)).contains("outside the allowed root");
        Files.createSymbolicLink(images.resolve("link.img"), tmp.resolve("secret.img"));
        assertThat(reason(images.resolve("link.img").toString(), null)).contains("outside the allowed root");
        assertThat(reason("/dev/sda", null)).contains("device path");
        Files.createSymbolicLink(images.resolve("dev.img"), Path.of("/dev/null"));
        assertThat(reason(images.resolve("dev.img").toString(), null)).contains("resolves to device");
        assertThat(reason(tmp + "/images-evil/x.img", null)).contains("outside the allowed root");
    }

    @Test
    void outputsOutsideTheOutputRootAreRefused() throws Exception {
        String disk = images.resolve("web01.qcow2").toString();
        assertThat(reason(disk, images.resolve("x.qcow2").toString())).contains("outside the allowed root");
        assertThat(reason(disk, out + "/../x.qcow2")).contains("outside the allowed root");
        assertThat(reason(disk, out + "/missing/x.qcow2")).contains("does not exist");
        Files.createSymbolicLink(out.resolve("evil"), tmp);
        assertThat(reason(disk, out + "/evil/x.qcow2")).contains("outside the allowed root");
    }
}
