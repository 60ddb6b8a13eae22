package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.cli.ExitCodes;
import io.guestflow.cli.GuestflowCli;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.processors.JobOperations;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.job.JobParser;
import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.processors.sparsify.SparsifyJobOperation;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sparsify's refusals, all before any appliance starts (no launch in this
 * class): bad options, wrong mode/output combinations, a read-only input in
 * place, a full tmpDir, an unwritable output folder, and the CLI's usage errors.
 */
class SparsifyRejectionTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final SparsifyJobOperation op = new SparsifyJobOperation();

    @TempDir
    Path dir;

    private Job job(Path disk, Path output, ObjectNode options) {
        return new Job("sparsify-reject", "sparsify", List.of(new Job.Disk(disk.toString(), null, null)),
                output == null ? null : new Job.Output(output.toString(), null), options, 600, Map.of(), false);
    }

    private String rejected(Job job) {
        JobRejectedException e = catchThrowableOfType(() -> op.validate(job), JobRejectedException.class);
        assertThat(e).as("rejected: %s", job.options()).isNotNull();
        return e.reason();
    }

    private Path emptyQcow2(String name, String size) {
        Path p = dir.resolve(name);
        VirtTool.run(Duration.ofMinutes(1), "qemu-img", "create", "-q", "-f", "qcow2", p.toString(), size).orFail("qemu-img create");
        return p;
    }

    @Test
    void optionsThatContradictTheModeAreRejectedWithTheReason() {
        Path disk = dir.resolve("d.qcow2");
        Path out = dir.resolve("o.qcow2");
        assertThat(rejected(job(disk, out, JSON.createObjectNode().put("inPlace", true)))).contains("takes no output");
        assertThat(rejected(job(disk, null, JSON.createObjectNode()))).contains("needs an output");
        assertThat(rejected(job(disk, out, JSON.createObjectNode().put("compress", true).put("outputFormat", "raw"))))
                .contains("compress needs a qcow2 output");
        assertThat(rejected(job(disk, null, JSON.createObjectNode().put("inPlace", true).put("compress", true))))
                .contains("'compress' is for copy mode");
        assertThat(rejected(job(disk, out, JSON.createObjectNode().put("outputFormat", "vmdk")))).contains("outputFormat");
        assertThat(rejected(job(disk, out, JSON.createObjectNode().put("sparse", true)))).contains("no option 'sparse'");
        ObjectNode badIgnore = JSON.createObjectNode();
        badIgnore.putArray("ignore").add("/dev/../etc/passwd");
        assertThat(rejected(job(disk, out, badIgnore))).contains("ignore");
        ObjectNode badZero = JSON.createObjectNode();
        badZero.putArray("zero").add("vgdata");
        assertThat(rejected(job(disk, out, badZero))).contains("zero").contains("device paths");
        assertThat(rejected(job(disk, out, JSON.createObjectNode().put("tmpDir", "relative/dir")))).contains("absolute");
    }

    @Test
    void theEngineAcceptsTheExampleJobs() throws Exception {
        JobParser parser = new JobParser(JobOperations.defaults());
        Path examples = Path.of(System.getProperty("guestflow.repo", "..")).resolve("config/examples");
        for (String name : List.of("sparsify.json", "sparsify-in-place.json")) {
            Job job = parser.parse(Files.readAllBytes(examples.resolve(name)));
            assertThat(job.type()).isEqualTo("sparsify");
            op.validate(job);
        }
    }

    @Test
    void readOnlyInputIsRefusedInPlaceAndNotTouched() throws Exception {
        Path disk = emptyQcow2("ro.qcow2", "64M");
        Files.setPosixFilePermissions(disk, PosixFilePermissions.fromString("r--r--r--"));
        String before = Fixtures.sha256(disk);
        JobRejectedException e = catchThrowableOfType(() -> execute(job(disk, null, JSON.createObjectNode().put("inPlace", true))),
                JobRejectedException.class);
        assertThat(e).isNotNull();
        assertThat(e.reason()).contains("read-only").contains(disk.toString());
        assertThat(Fixtures.sha256(disk)).isEqualTo(before);
    }

    @Test
    void tmpDirWithoutRoomForTheOverlayIsAClearErrorBeforeLaunch() throws Exception {
        // 1000 TiB virtual, a few KiB on disk: the overlay could grow beyond any free space here
        Path disk = emptyQcow2("huge.qcow2", "1000T");
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path outDir = Files.createDirectories(dir.resolve("out"));
        GuestflowException e = catchThrowableOfType(() -> execute(job(disk, outDir.resolve("x.qcow2"),
                JSON.createObjectNode().put("tmpDir", tmp.toString()))), GuestflowException.class);
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("not enough free space in tmpDir " + tmp).contains("MiB");
        assertThat(list(tmp)).isEmpty();
        assertThat(list(outDir)).isEmpty();
    }

    @Test
    void unwritableOutputFolderFailsBeforeLaunchAndLeavesNothing() throws Exception {
        Path disk = emptyQcow2("small.qcow2", "64M");
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path outDir = Files.createDirectories(dir.resolve("locked"));
        lock(outDir);
        try {
            GuestflowException e = catchThrowableOfType(() -> execute(job(disk, outDir.resolve("x.qcow2"),
                    JSON.createObjectNode().put("tmpDir", tmp.toString()))), GuestflowException.class);
            assertThat(e).isNotNull();
            assertThat(e.code()).isEqualTo(ErrorCode.OPERATION_FAILED);
            assertThat(e.getMessage()).contains("cannot write in the output folder " + outDir);
            assertThat(list(tmp)).as("the overlay is removed").isEmpty();
            assertThat(list(outDir)).isEmpty();
        } finally {
            unlock(outDir);
        }
    }

    @Test
    void cliNeedsExactlyOneOfOutputAndInPlace() throws Exception {
        Path disk = emptyQcow2("cli.qcow2", "64M");
        String[] help = cli("sparsify", "--help");
        assertThat(help[0]).isEqualTo("0");
        assertThat(help[1]).contains("--in-place").contains("--convert").contains("--compress").contains("OUTPUT");
        assertThat(cli("--help")[1]).contains("sparsify");

        String[] noOutput = cli("sparsify", disk.toString());
        assertThat(noOutput[0]).isEqualTo(Integer.toString(ExitCodes.USAGE));
        assertThat(noOutput[2]).contains("Missing OUTPUT");
        String[] both = cli("sparsify", "--in-place", disk.toString(), dir.resolve("o.img").toString());
        assertThat(both[0]).isEqualTo(Integer.toString(ExitCodes.USAGE));
        assertThat(both[2]).contains("takes no OUTPUT");
        String[] rawCompressed = cli("sparsify", "--convert", "raw", "--compress", disk.toString(), dir.resolve("o.img").toString());
        assertThat(rawCompressed[0]).isEqualTo(Integer.toString(ExitCodes.BAD_INPUT));
        assertThat(rawCompressed[2]).contains("compress needs a qcow2 output");
        assertThat(dir.resolve("o.img")).doesNotExist();
    }

    private Object execute(Job job) {
        op.validate(job);
        AtomicBoolean launched = new AtomicBoolean();
        // no size limit: the full-tmpDir case needs a disk larger than any free space
        PoolConfig cfg = PoolConfig.defaults().withMaxAppliances(1);
        try (HandlePool pool = new HandlePool(cfg.withImages(cfg.images().withMaxVirtualSize(0)))) {
            return JobExecutor.execute(pool, op, job, GuestEventListener.NONE, h -> launched.set(true), new JobExecutor.Attempt());
        } finally {
            assertThat(launched).as("no appliance may start").isFalse();
        }
    }

    private static String[] cli(String... args) {
        var cl = GuestflowCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new String[] {Integer.toString(exit), out.toString(), err.toString()};
    }

    private static List<Path> list(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.toList();
        }
    }

    /** Root ignores permission bits, so root locks the folder with the immutable attribute instead. */
    private static void lock(Path d) throws Exception {
        if ("root".equals(System.getProperty("user.name"))) {
            VirtTool.run(Duration.ofSeconds(30), "chattr", "+i", d.toString()).orFail("chattr +i");
        } else {
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("r-xr-xr-x"));
        }
    }

    private static void unlock(Path d) throws Exception {
        if ("root".equals(System.getProperty("user.name"))) {
            VirtTool.run(Duration.ofSeconds(30), "chattr", "-i", d.toString()).orFail("chattr -i");
        } else {
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }
}
