package io.guestflow.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.resize.ResizeJobOperation;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code guestflow resize}: one local resize (virt-resize's options), no Kafka. */
@Command(name = "resize", mixinStandardHelpOptions = true,
        description = {"Copy DISK to a new image OUTPUT of another size, expanding or resizing partitions and growing their content, as virt-resize does.",
            "DISK is only read. OUTPUT is created (qemu-img) under a temporary name beside it and renamed only on success.",
            "Prints the plan (old and new partition table), what content was grown, sizes and timings as JSON."})
public final class ResizeCommand implements Callable<Integer> {

    @Mixin
    GuestflowCli.Common common = new GuestflowCli.Common();

    @Mixin
    JobOptions jobOptions = new JobOptions(3600);

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--overwrite", description = "Replace OUTPUT if it exists (it keeps its mode); otherwise an existing OUTPUT is refused.")
    boolean overwrite;

    @Option(names = "--size", paramLabel = "SIZE", description = "Output disk size: absolute (10G, 512M) or relative to DISK (+1G). Default: DISK's size.")
    String size;

    @Option(names = "--expand", paramLabel = "PART", description = "Partition that takes all the surplus space, e.g. /dev/sda2.")
    String expand;

    @Option(names = "--resize", paramLabel = "PART=SIZE", description = "Resize a partition: PART=10G, PART=+1G, PART=-500M, PART=80%%, PART=+10%%. Repeatable.")
    List<String> resizes = List.of();

    @Option(names = "--shrink", paramLabel = "PART", description = "Partition that gives up the deficit when OUTPUT is smaller.")
    String shrink;

    @Option(names = "--delete", paramLabel = "PART", description = "Leave a partition out of OUTPUT. Repeatable.")
    List<String> deletes = List.of();

    @Option(names = "--ignore", paramLabel = "PART", description = "Create a partition but do not copy its content. Repeatable.")
    List<String> ignores = List.of();

    @Option(names = {"--lv-expand", "--LV-expand"}, paramLabel = "LV", description = "Grow an LV (e.g. /dev/vg/root) to fill its VG, and its content. Repeatable.")
    List<String> lvExpands = List.of();

    @Option(names = "--no-expand-content", description = "Resize partitions/LVs but do not grow filesystems, PVs or swap.")
    boolean noExpandContent;

    @Option(names = "--no-extra-partition", description = "Do not put a surplus of 10 MiB or more into an extra partition.")
    boolean noExtraPartition;

    @Option(names = "--align-first", paramLabel = "auto|never|always", description = "Move the first partition to the alignment boundary. Default: auto.")
    String alignFirst;

    @Option(names = "--alignment", paramLabel = "SECTORS", description = "Partition alignment in sectors. Default: 128.")
    Long alignment;

    @Option(names = "--output-format", description = "Format of OUTPUT (raw, qcow2, ...). Default: DISK's format.")
    String outputFormat;

    @Option(names = {"-n", "--dry-run", "--dryrun"}, description = "Print the plan only; nothing is written.")
    boolean dryRun;

    @Parameters(index = "0", paramLabel = "DISK", description = "The image to resize (path or URI); never written.")
    String disk;

    @Parameters(index = "1", paramLabel = "OUTPUT", arity = "0..1", description = "The new image (a local path). Not needed with --dry-run.")
    String output;

    @Override
    public Integer call() throws Exception {
        ObjectNode o = LocalJob.options();
        put(o, "size", size);
        put(o, "expand", expand);
        put(o, "shrink", shrink);
        put(o, "alignFirst", alignFirst);
        put(o, "outputFormat", outputFormat);
        list(o, "resize", resizes);
        list(o, "delete", deletes);
        list(o, "ignore", ignores);
        list(o, "lvExpand", lvExpands);
        if (alignment != null) {
            o.put("alignment", alignment);
        }
        if (noExpandContent) {
            o.put("noExpandContent", true);
        }
        if (noExtraPartition) {
            o.put("noExtraPartition", true);
        }
        if (dryRun) {
            o.put("dryRun", true);
        }
        ResizeJobOperation op = new ResizeJobOperation();
        Job.Output out = output == null ? null : new Job.Output(output, outputFormat, overwrite);
        Object report = LocalJob.run(common, op, jobOptions.job(op.type(), List.of(disk), out, o));
        // through picocli's writer (stdout by default), so an embedding caller can capture it
        spec.commandLine().getOut().println(LocalJob.pretty(report));
        spec.commandLine().getOut().flush();
        return ExitCodes.OK;
    }

    private static void put(ObjectNode o, String name, String value) {
        if (value != null) {
            o.put(name, value);
        }
    }

    private static void list(ObjectNode o, String name, List<String> values) {
        if (!values.isEmpty()) {
            ArrayNode a = o.putArray(name);
            values.forEach(a::add);
        }
    }
}
