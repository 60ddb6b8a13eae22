package io.guestflow.processors.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.guestflow.processors.JobOperations;
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

    @Test
    void anExistingOutputIsRefusedUnlessTheJobSaysOverwrite() throws Exception {
        String disk = images.resolve("web01.qcow2").toString();
        Files.write(out.resolve("old.qcow2"), new byte[16]);
        assertThat(reason(disk, out.resolve("old.qcow2").toString())).contains("exists").contains("\"overwrite\": true");
        Job overwrite = new Job("j1", "inspect", List.of(new Job.Disk(disk, null, null)),
                new Job.Output(out.resolve("old.qcow2").toString(), null, true), JsonNodeFactory.instance.objectNode(), 60,
                Map.of(), false);
        assertThatCode(() -> policy.check(overwrite)).doesNotThrowAnyException();
        Files.createDirectory(out.resolve("adir"));
        assertThat(reason(disk, out.resolve("adir").toString())).contains("not a regular file");
        assertThat(reason(disk, out.resolve(".x.qcow2.123.part").toString())).contains("temporary file");
    }

    /** Directories named in options (sparsify's tmpDir, also as a pipeline step) lie under the tmp root. */
    @Test
    void tmpDirsNamedInOptionsStayUnderTheTmpRoot() throws Exception {
        Path tmpRoot = Files.createDirectories(tmp.resolve("work"));
        Files.createDirectories(tmpRoot.resolve("mine"));
        PathPolicy withTmp = new PathPolicy(images, out, tmpRoot, JobOperations.defaults());
        String disk = images.resolve("web01.qcow2").toString();
        java.util.function.Function<String, Job> sparsify = dir -> {
            var o = JsonNodeFactory.instance.objectNode().put("tmpDir", dir);
            return new Job("j1", "sparsify", List.of(new Job.Disk(disk, null, null)),
                    new Job.Output(out.resolve("s.qcow2").toString(), null), o, 60, Map.of(), false);
        };
        assertThatCode(() -> withTmp.check(sparsify.apply(tmpRoot.resolve("mine").toString()))).doesNotThrowAnyException();
        for (String bad : new String[] {"/etc", "/tmp", tmpRoot + "/../images", tmpRoot + "/missing/../../out"}) {
            JobRejectedException e = catchThrowableOfType(JobRejectedException.class, () -> withTmp.check(sparsify.apply(bad)));
            assertThat(e).as(bad).isNotNull();
            assertThat(e.reason()).contains("options.tmpDir").contains("outside the allowed root");
        }
        Files.createSymbolicLink(tmpRoot.resolve("escape"), Path.of("/var/tmp"));
        assertThat(catchThrowableOfType(JobRejectedException.class,
                () -> withTmp.check(sparsify.apply(tmpRoot.resolve("escape").toString()))).reason()).contains("outside");
        // no tmp root at all: refused with the setting's name
        PathPolicy none = new PathPolicy(images, out, null, JobOperations.defaults());
        assertThat(catchThrowableOfType(JobRejectedException.class,
                () -> none.check(sparsify.apply(tmpRoot.toString()))).reason()).contains("guestflow.engine.tmp-root");
        // inside a pipeline, the step is named
        var steps = JsonNodeFactory.instance.arrayNode();
        steps.addObject().put("type", "sparsify").putObject("options").put("tmpDir", "/etc");
        Job pipeline = new Job("j1", "pipeline", List.of(new Job.Disk(disk, null, null)),
                new Job.Output(out.resolve("p.qcow2").toString(), null),
                (com.fasterxml.jackson.databind.node.ObjectNode) JsonNodeFactory.instance.objectNode().set("steps", steps),
                60, Map.of(), false);
        assertThat(catchThrowableOfType(JobRejectedException.class, () -> withTmp.check(pipeline)).reason())
                .contains("options.steps[0].options.tmpDir /etc is outside the allowed root");
    }
}
