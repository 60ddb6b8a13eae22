package io.guestflow.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.processors.info.InfoJobOperation;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code guestflow info}: qemu-img facts of images, no appliance, no Kafka. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = {"Print what qemu-img says of each disk: format, virtual and allocated size, cluster size,",
            "snapshots, dirty and corrupt flags, the consistency check, and the backing chain as far as",
            "guestflow.pool.allow-backing-files allows. Launches nothing: seconds for thousands of images."})
public final class InfoCommand implements Callable<Integer> {
    @Mixin
    GuestflowCli.Common common = new GuestflowCli.Common();

    @Option(names = "--format", description = "Format of the disks (raw, qcow2, ...); detected when omitted, refused when it does not match.")
    String format;

    @Option(names = "--no-check", description = "Skip qemu-img check (it reads all of an image's metadata).")
    boolean noCheck;

    @Option(names = "--timeout", defaultValue = "300", description = "Deadline in seconds of each qemu-img call. Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    @Parameters(arity = "1..*", paramLabel = "DISK", description = "Image path (or file:// URI).")
    List<String> disks;

    @Override
    public Integer call() throws Exception {
        ObjectNode options = LocalJob.options().put("check", !noCheck);
        InfoJobOperation op = new InfoJobOperation();
        Object report = LocalJob.run(common, op, LocalJob.job(op.type(), disks, format, null, options, timeoutSeconds));
        System.out.println(LocalJob.pretty(report));
        return ExitCodes.OK;
    }
}
