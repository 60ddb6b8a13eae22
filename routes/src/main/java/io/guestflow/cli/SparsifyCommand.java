package io.guestflow.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.sparsify.SparsifyJobOperation;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code guestflow sparsify}: one local sparsify, no Kafka. */
@Command(name = "sparsify", mixinStandardHelpOptions = true,
        description = {"Make a disk image small: free space in the guest's filesystems becomes holes.",
            "Copy mode (DISK OUTPUT) never writes DISK; --in-place (DISK only) trims DISK itself.",
            "Prints what was done per filesystem and the sizes before and after (JSON)."})
public final class SparsifyCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    GuestflowCli.Common common = new GuestflowCli.Common();

    @Mixin
    JobOptions jobOptions = new JobOptions(3600);

    @Mixin
    KeyOptions keyOptions = new KeyOptions();

    @Option(names = "--overwrite", description = "Replace OUTPUT if it exists (it keeps its mode); otherwise an existing OUTPUT is refused.")
    boolean overwrite;

    @Option(names = "--in-place", description = "Trim DISK itself instead of writing OUTPUT.")
    boolean inPlace;

    @Option(names = "--convert", paramLabel = "FMT", description = "Output format: raw or qcow2 (default: the input's).")
    String convert;

    @Option(names = "--compress", description = "Compress the qcow2 output.")
    boolean compress;

    @Option(names = "--ignore", paramLabel = "FS|VG", description = "Leave this filesystem or volume group alone (repeatable).")
    List<String> ignore = new ArrayList<>();

    @Option(names = "--zero", paramLabel = "DEV", description = "Zero this whole device (repeatable).")
    List<String> zero = new ArrayList<>();

    @Option(names = "--tmp", paramLabel = "DIR", description = "Directory of the copy-mode overlay (default: java.io.tmpdir).")
    String tmpDir;

    @Parameters(index = "0", paramLabel = "DISK", description = "The image to sparsify (a local path).")
    String disk;

    @Parameters(index = "1", arity = "0..1", paramLabel = "OUTPUT", description = "The new image (copy mode).")
    String output;

    @Override
    public Integer call() throws Exception {
        if (inPlace == (output != null)) {
            throw new ParameterException(spec.commandLine(), inPlace
                    ? "--in-place writes DISK itself and takes no OUTPUT"
                    : "Missing OUTPUT: copy mode writes a new image (or use --in-place)");
        }
        ObjectNode options = LocalJob.options();
        if (inPlace) {
            options.put("inPlace", true);
        }
        if (convert != null) {
            options.put("outputFormat", convert);
        }
        if (compress) {
            options.put("compress", true);
        }
        if (tmpDir != null) {
            options.put("tmpDir", java.nio.file.Path.of(tmpDir).toAbsolutePath().toString());
        }
        ArrayNode ig = options.putArray("ignore");
        ignore.forEach(ig::add);
        ArrayNode ze = options.putArray("zero");
        zero.forEach(ze::add);
        SparsifyJobOperation op = new SparsifyJobOperation();
        Job.Output out = output == null ? null : new Job.Output(output, null, overwrite);
        Object report = LocalJob.run(common, op,
                keyOptions.attach(jobOptions.job(op.type(), List.of(disk), out, options)), keyOptions);
        spec.commandLine().getOut().println(LocalJob.pretty(report));
        spec.commandLine().getOut().flush();
        return ExitCodes.OK;
    }
}
