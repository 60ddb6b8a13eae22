package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.processors.JobOperations;
import io.guestflow.processors.job.FailedWithOutputException;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.job.JobOperation;
import io.guestflow.processors.job.OperationRegistry;
import io.guestflow.processors.inspect.InspectionReport;
import io.guestflow.processors.pipeline.PipelineReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Tag;

/**
 * A pipeline inspect → sysprep → in-place sparsify on a copy of the sysprep
 * fixtures' Debian guest, against the oracles and the same steps run as
 * separate jobs on another copy: the inspection is virt-inspector's answer
 * for that guest, the sysprep and sparsify reports are the separate jobs'
 * reports, the images end up the same size, the guest ends up with the files
 * virt-sysprep leaves (golden files, see {@link VirtSysprep}), and one launch
 * does it instead of three. A pipeline of three launches (seal in place,
 * copy-mode sparsify to the output with an inspection of the new image, then
 * an in-place sparsify that fails) keeps the results and the output of the
 * steps before the failing one and runs nothing after it. Launches: 1 for the
 * pipeline, 2 for the separate sysprep and sparsify jobs (the separate
 * inspection is the golden answer), 3 for the failing pipeline, 1 to read the
 * pipeline's guest.
 */
@Tag("appliance")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PipelineTest {
    private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules();
    private static final List<String> RANDOM_BY_DESIGN = List.of("/var/lib/systemd/random-seed", "/etc/machine-id");

    private final OperationRegistry registry = JobOperations.defaults();
    private Path work;
    private Path fixture;
    private Path piped;
    private Path separate;
    private Path failing;
    private PipelineReport pipeline;
    private final List<Object> separateOutputs = new ArrayList<>();
    private FailedWithOutputException failure;
    private final AtomicInteger pipelineLaunches = new AtomicInteger();
    private final AtomicInteger separateLaunches = new AtomicInteger();
    private final AtomicInteger failingLaunches = new AtomicInteger();
    private Path failingOutput;
    private GuestTree pipedTree;
    private long pipelineMillis;
    private long separateMillis;
    private long pipedAllocatedBefore;
    private List<Path> tmpBefore;

    @BeforeAll
    void runBothWays() throws Exception {
        tmpBefore = Leftovers.libguestfsTmpDirs();
        fixture = SysprepFixtures.dir().resolve(SysprepFixtures.DEBIAN);
        work = Files.createTempDirectory("pipeline-test");
        piped = copy("piped.qcow2");
        separate = copy("separate.qcow2");
        failing = copy("failing.qcow2");
        failingOutput = work.resolve("failing-out.qcow2");
        pipedAllocatedBefore = QemuSizes.allocated(piped);
        try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1))) {
            long t0 = System.nanoTime();
            pipeline = (PipelineReport) run(pool, pipelineJob("piped", piped, steps(false)), pipelineLaunches);
            pipelineMillis = (System.nanoTime() - t0) / 1_000_000;
            t0 = System.nanoTime();
            for (JsonNode step : steps(false)) {
                if (step.get("type").asText().equals("inspect")) {
                    // the separate inspection: virt-inspector's answer for this guest (read-only, so no need to run it)
                    separateOutputs.add(VirtInspector.golden(VirtInspector.Guest.SYSPREP_DEBIAN).report());
                    continue;
                }
                separateOutputs.add(run(pool, job("separate-" + step.get("type").asText(), step.get("type").asText(),
                        separate, (ObjectNode) step.get("options")), separateLaunches));
            }
            separateMillis = (System.nanoTime() - t0) / 1_000_000;
            Job failingJob = pipelineJob("failing", failing, steps(true));
            failingJob = new Job(failingJob.jobId(), failingJob.type(), failingJob.disks(),
                    new Job.Output(failingOutput.toString(), "qcow2"), failingJob.options(), failingJob.timeoutSeconds(),
                    failingJob.labels(), failingJob.debug());
            Job j = failingJob;
            failure = catchThrowableOfType(() -> run(pool, j, failingLaunches), FailedWithOutputException.class);
        }
        pipedTree = GuestTree.read(List.of(piped)).get("debian");
    }

    @AfterAll
    void cleanUp() throws IOException {
        System.out.println("pipeline inspect+sysprep+sparsify(in place): " + pipelineMillis + " ms in "
                + pipelineLaunches + " launch(es); as separate jobs: " + separateMillis + " ms in " + separateLaunches);
        if (work != null) {
            FileTrees.delete(work);
        }
        assertThat(Leftovers.qemuChildren()).as("qemu processes left running").isEmpty();
        Leftovers.assertNoLibguestfsDirsLeft(tmpBefore);
    }

    /**
     * inspect, sysprep (defaults), sparsify in place; with {@code failing}: inspect, sysprep, copy-mode sparsify
     * (the job's output), inspect of the copy, in-place sparsify naming a device the guest lacks, inspect.
     */
    private static ArrayNode steps(boolean failing) {
        ArrayNode steps = JSON.createArrayNode();
        steps.addObject().put("type", "inspect").putObject("options");
        steps.addObject().put("type", "sysprep").putObject("options");
        if (failing) {
            steps.addObject().put("type", "sparsify").putObject("options");
            steps.addObject().put("type", "inspect").putObject("options").put("applications", false);
        }
        ObjectNode sparsify = steps.addObject().put("type", "sparsify").putObject("options").put("inPlace", true);
        if (failing) {
            sparsify.putArray("ignore").add("/dev/sdz9");
            steps.addObject().put("type", "inspect").putObject("options").put("applications", false);
        }
        return steps;
    }

    private Job pipelineJob(String id, Path disk, ArrayNode steps) {
        ObjectNode options = JSON.createObjectNode();
        options.set("steps", steps);
        return job(id, "pipeline", disk, options);
    }

    private static Job job(String id, String type, Path disk, ObjectNode options) {
        return new Job(id, type, List.of(new Job.Disk(disk.toString(), "qcow2", null)), null, options, 1800,
                Map.of(), false);
    }

    private Object run(HandlePool pool, Job job, AtomicInteger launches) {
        JobOperation op = registry.get(job.type());
        op.validate(job);
        return JobExecutor.execute(pool, op, job, GuestEventListener.NONE, h -> launches.incrementAndGet(),
                new JobExecutor.Attempt());
    }

    private Path copy(String name) throws IOException {
        return Files.copy(fixture, work.resolve(name));
    }

    @Test
    void inspectSysprepAndInPlaceSparsifyRunOnOneLaunch() {
        assertThat(pipelineLaunches.get()).isEqualTo(1);
        assertThat(separateLaunches.get()).as("the separate sysprep and sparsify jobs").isEqualTo(2);
        assertThat(pipeline.launches()).hasSize(1);
        PipelineReport.Launch l = pipeline.launches().get(0);
        assertThat(l.mode()).isEqualTo("in-place");
        assertThat(l.steps()).containsExactly(0, 1, 2);
        assertThat(l.disks()).containsExactly(piped.toString());
        assertThat(l.outcome()).isEqualTo("committed");
        assertThat(pipeline.status()).isEqualTo("SUCCEEDED");
        assertThat(pipeline.steps()).extracting(PipelineReport.Step::status).containsOnly("SUCCEEDED");
    }

    @Test
    void eachStepReportsWhatItsOwnJobReports() {
        InspectDifferentialTest.assertSameFacts(inspection(pipeline.steps().get(0).output()),
                (InspectionReport) separateOutputs.get(0));
        assertThat(tree(pipeline.steps().get(0).output()).path("operatingSystems").get(0).path("distro").asText())
                .isEqualTo("debian");
        JsonNode sysprep = tree(pipeline.steps().get(1).output());
        assertThat(sysprep).as("sysprep report").isEqualTo(tree(separateOutputs.get(1)));
        assertThat(sysprep.path("removedCount").asInt()).as("the fixture had clutter to remove").isGreaterThan(5);
    }

    @Test
    void sparsifyFreedTheSameSpaceAndLeftImagesOfTheSameSize() throws IOException {
        JsonNode ours = tree(pipeline.steps().get(2).output());
        JsonNode alone = tree(separateOutputs.get(2));
        assertThat(ours.path("mode").asText()).isEqualTo("in-place");
        // per filesystem the same action on the same free space; reclaimedBytes per filesystem is measured
        // on the host file during the run, which a pipeline only changes when it commits (README)
        assertThat(withoutReclaimed(ours.path("filesystems"))).isEqualTo(withoutReclaimed(alone.path("filesystems")));
        assertThat(withoutReclaimed(ours.path("volumeGroups"))).isEqualTo(withoutReclaimed(alone.path("volumeGroups")));
        // the pipeline measures its input before the launch, i.e. before the sysprep step (README)
        assertThat(ours.path("input").path("allocatedSize").asLong()).as("measured before the launch")
                .isEqualTo(pipedAllocatedBefore);
        assertThat(ours.path("output").path("allocatedSize").asLong()).as("measured after the commit")
                .isEqualTo(QemuSizes.allocated(piped));
        long a = QemuSizes.allocated(piped);
        long b = QemuSizes.allocated(separate);
        long aData = QemuSizes.dataBytes(piped);
        long bData = QemuSizes.dataBytes(separate);
        System.out.println("after the pipeline: allocated " + a + ", guest data " + aData + "; after separate jobs: "
                + "allocated " + b + ", guest data " + bData + "; before: allocated " + pipedAllocatedBefore);
        assertThat(QemuSizes.virtualSize(piped)).isEqualTo(QemuSizes.virtualSize(separate));
        assertThat(ours.path("reclaimedBytes").asLong()).as("the deleted data is gone")
                .isGreaterThan(SysprepFixtures.DELETED_BYTES * 3 / 4);
        // the trims reach the disk through the overlay's commit instead of directly: the commit must turn them
        // (and every zero it writes) into holes, so the pipeline leaves the image no larger than the separate jobs
        assertThat(a).as("allocated after the pipeline %d, after the separate jobs %d", a, b)
                .isLessThanOrEqualTo(b + b / 100);
        assertThat(a).as("the pipeline never grows the image").isLessThanOrEqualTo(pipedAllocatedBefore);
    }

    @Test
    void theGuestEndsUpWithTheFilesVirtSysprepLeaves() {
        Map<String, String> p = new TreeMap<>(pipedTree.entries());
        Map<String, String> v = new TreeMap<>(VirtSysprep.golden().get("debian").entries());
        for (String random : RANDOM_BY_DESIGN) {
            String a = p.remove(random);
            String b = v.remove(random);
            assertThat(a).as(random).isNotNull();
            // same type, mode, owner and size; the content is new on every run
            assertThat(a.substring(0, a.lastIndexOf(' '))).as(random).isEqualTo(b.substring(0, b.lastIndexOf(' ')));
        }
        List<String> differences = new ArrayList<>();
        TreeSet<String> paths = new TreeSet<>(p.keySet());
        paths.addAll(v.keySet());
        for (String path : paths) {
            if (!String.valueOf(p.get(path)).equals(String.valueOf(v.get(path)))) {
                differences.add(path + ": pipeline=" + p.get(path) + " virt-sysprep=" + v.get(path));
            }
        }
        assertThat(differences).isEmpty();
        assertThat(p.size()).as("a meaningful tree").isGreaterThan(40);
        assertThat(pipedTree.vgUuid()).as("sysprep gave the VG a new UUID").isNotEqualTo(SysprepFixtures.original()
                .getProperty("debian.vguuid"));
    }

    @Test
    void aFailingStepStopsThePipelineAndKeepsTheEarlierResults() throws IOException {
        assertThat(failure).isNotNull();
        assertThat(failure.getMessage()).contains("steps[4] (sparsify)").contains("/dev/sdz9");
        assertThat(failure.retryable()).as("the disk was sealed: running it again would repeat that").isFalse();
        PipelineReport r = (PipelineReport) failure.output();
        assertThat(r.status()).isEqualTo("FAILED");
        assertThat(r.failedStep()).isEqualTo(4);
        assertThat(failingLaunches.get()).isEqualTo(3);
        assertThat(r.launches()).extracting(l -> l.mode() + l.steps() + " " + l.outcome())
                .containsExactly("in-place[0, 1] committed", "copy[2, 3] output-written", "in-place[4, 5] committed");
        assertThat(r.launches().get(1).disks()).as("the copy starts from the sealed disk").containsExactly(failing.toString());
        assertThat(r.launches().get(2).disks()).as("later steps work on the new image").containsExactly(failingOutput.toString());
        assertThat(r.steps()).extracting(PipelineReport.Step::status)
                .containsExactly("SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "FAILED", "NOT_RUN");
        InspectDifferentialTest.assertSameFacts(inspection(r.steps().get(0).output()), (InspectionReport) separateOutputs.get(0));
        assertThat(tree(r.steps().get(1).output())).isEqualTo(tree(separateOutputs.get(1)));
        JsonNode copy = tree(r.steps().get(2).output());
        assertThat(copy.path("mode").asText()).isEqualTo("copy");
        assertThat(copy.path("output").path("path").asText()).isEqualTo(failingOutput.toString());
        assertThat(tree(r.steps().get(3).output()).path("operatingSystems").get(0).path("distro").asText())
                .as("the copy is the sealed guest").isEqualTo("debian");
        assertThat(r.steps().get(4).error().message()).contains("/dev/sdz9");
        assertThat(r.steps().get(5).output()).isNull();
        assertThat(r.output()).as("the copy step wrote the job's output before the failure").isEqualTo(failingOutput.toString());
        assertThat(QemuSizes.allocated(failingOutput)).as("a sparse copy").isLessThan(pipedAllocatedBefore / 4);
        // the sysprep's changes were committed into the job's disk
        assertThat(Fixtures.sha256(failing)).isNotEqualTo(Fixtures.sha256(fixture));
        try (var files = Files.list(work)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no temporary images left")
                    .containsExactlyInAnyOrder("piped.qcow2", "separate.qcow2", "failing.qcow2", "failing-out.qcow2");
        }
    }

    private static JsonNode tree(Object output) {
        return JSON.valueToTree(output);
    }

    private static InspectionReport inspection(Object output) {
        return JSON.convertValue(output, InspectionReport.class);
    }

    private static JsonNode withoutReclaimed(JsonNode list) {
        ArrayNode out = JSON.createArrayNode();
        for (JsonNode n : list) {
            out.add(((ObjectNode) n.deepCopy()).without("reclaimedBytes"));
        }
        return out;
    }

    /** Sizes as qemu-img reports them, like sparsify's own report. */
    static final class QemuSizes {
        static long allocated(Path image) {
            return info(image).path("actual-size").asLong();
        }

        /** Bytes the guest sees as data (qemu-img map), whatever the file's own bookkeeping. */
        static long dataBytes(Path image) {
            long sum = 0;
            for (JsonNode extent : run("qemu-img", "map", "-U", "--output=json", image.toString())) {
                if (extent.path("data").asBoolean()) {
                    sum += extent.path("length").asLong();
                }
            }
            return sum;
        }

        static long virtualSize(Path image) {
            return info(image).path("virtual-size").asLong();
        }

        private static JsonNode info(Path image) {
            return run("qemu-img", "info", "-U", "--output=json", image.toString());
        }

        private static JsonNode run(String... cmd) {
            try {
                Process p = new ProcessBuilder(cmd).start();
                JsonNode n = JSON.readTree(p.getInputStream());
                p.waitFor();
                return n;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
