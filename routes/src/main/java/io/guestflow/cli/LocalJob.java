package io.guestflow.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.pool.HandlePool;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecutor;
import io.guestflow.processors.job.JobOperation;
import io.guestflow.processors.job.KeySource;
import io.guestflow.processors.job.OutputClaim;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A job run on the command line, without Kafka: the same validation and the
 * same {@link JobExecutor} path as the engine, on a pool of one appliance.
 */
final class LocalJob {
    private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules()
            .enable(SerializationFeature.INDENT_OUTPUT).disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    private LocalJob() {
    }

    /** A job of {@code type} over {@code disks} (paths or URIs, all of {@code format} when given). */
    static Job job(String type, List<String> disks, String format, Job.Output output, ObjectNode options,
                   long timeoutSeconds) {
        List<Job.Disk> ds = disks.stream().map(d -> new Job.Disk(d, format, null)).toList();
        return new Job("local-" + type + "-" + UUID.randomUUID().toString().substring(0, 8), type, ds, output,
                options, (int) timeoutSeconds, Map.of(), false);
    }

    /** Validates and runs {@code job}; failures come out as exceptions the CLI maps to exit codes. */
    static Object run(GuestflowCli.Common common, JobOperation op, Job job) {
        return run(common, op, job, KeySource.NONE);
    }

    /** As {@link #run(GuestflowCli.Common, JobOperation, Job)}, the job's LUKS keys from {@code keys}. */
    static Object run(GuestflowCli.Common common, JobOperation op, Job job, KeySource keys) {
        op.validate(job);
        try (HandlePool pool = new HandlePool(common.poolConfig())) {
            return JobExecutor.execute(pool, op, job, InspectCommand::logEvent, h -> { }, new JobExecutor.Attempt(),
                    OutputClaim.DEFAULT_MODE, keys);
        }
    }

    static ObjectNode options() {
        return JSON.createObjectNode();
    }

    static String pretty(Object output) throws Exception {
        return JSON.writeValueAsString(output);
    }
}
