package io.guestflow.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.processors.job.Job;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code --format} and {@code --timeout} of the commands that run one job on
 * a local appliance, as a picocli mixin; each command gives its own default
 * deadline ({@code @Mixin JobOptions jobOptions = new JobOptions(1800)}), which the
 * help shows.
 */
final class JobOptions {
    @Option(names = "--format", description = "Format of the disks (raw, qcow2, vmdk, ...); detected when omitted.")
    String format;

    @Option(names = "--timeout", paramLabel = "SECONDS",
            description = "Deadline in seconds of each launch; the appliance is killed after it. Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    JobOptions(long defaultTimeoutSeconds) {
        this.timeoutSeconds = defaultTimeoutSeconds;
    }

    /** A local job of {@code type} on {@code disks} with these options. */
    Job job(String type, List<String> disks, Job.Output output, ObjectNode options) {
        return LocalJob.job(type, disks, format, output, options, timeoutSeconds);
    }
}
