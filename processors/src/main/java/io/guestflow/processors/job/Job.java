package io.guestflow.processors.job;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * An image job as it arrives on the jobs topic (schema:
 * {@code config/schemas/job.schema.json}). Built only by {@link JobParser},
 * which guarantees every field below is valid.
 *
 * @param jobId          idempotency key: a job whose result is published is not run again
 * @param type           operation name, see {@link OperationRegistry}
 * @param disks          all the disks of ONE guest, in attach order
 * @param output         where an operation that writes a new image puts it; null otherwise
 * @param options        the operation's options (validated by the operation)
 * @param timeoutSeconds deadline of the operation once the appliance is up
 * @param labels         free-form labels, copied to the result
 * @param debug          publish appliance debug messages and the call trace as events
 * @param rerun          run again although the jobId has a result, when that result is REJECTED or a
 *                       retryable FAILED (a SUCCEEDED jobId never runs again)
 * @param keys           LUKS keys by reference (a file under the engine's secrets dir), never the key itself;
 *                       read just before the job runs ({@link KeySource})
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Job(String jobId, String type, List<Disk> disks, Output output, ObjectNode options,
                  int timeoutSeconds, Map<String, String> labels, boolean debug, boolean rerun,
                  @JsonInclude(JsonInclude.Include.NON_EMPTY) List<Key> keys) {

    public Job {
        keys = keys == null ? List.of() : List.copyOf(keys);
    }

    /** A job without keys. */
    public Job(String jobId, String type, List<Disk> disks, Output output, ObjectNode options,
               int timeoutSeconds, Map<String, String> labels, boolean debug, boolean rerun) {
        this(jobId, type, disks, output, options, timeoutSeconds, labels, debug, rerun, List.of());
    }

    /** A job that is not a rerun, without keys. */
    public Job(String jobId, String type, List<Disk> disks, Output output, ObjectNode options,
               int timeoutSeconds, Map<String, String> labels, boolean debug) {
        this(jobId, type, disks, output, options, timeoutSeconds, labels, debug, false);
    }

    /** This job with {@code keys} (references) in place of its own. */
    public Job withKeys(List<Key> keys) {
        return new Job(jobId, type, disks, output, options, timeoutSeconds, labels, debug, rerun, keys);
    }

    /**
     * A LUKS key by reference, as the virt tools' {@code --key ID:file:FILENAME}.
     *
     * @param device which containers it opens: a libguestfs device name ({@code /dev/sda2}, {@code /dev/vg/lv}),
     *               a LUKS UUID, or {@code all}
     * @param file   the file whose first line is the passphrase: relative to the engine's secrets dir (or an
     *               absolute path inside it)
     */
    public record Key(String device, String file) {
    }

    /** One disk: a URI (or path), its format when known, and an optional label. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Disk(String uri, String format, String label) {
    }

    /**
     * Where a new image is written.
     *
     * @param overwrite an existing file there may be replaced (it keeps its mode); otherwise the job is REJECTED
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Output(String uri, String format, boolean overwrite) {
        /** An output that must not exist yet. */
        public Output(String uri, String format) {
            this(uri, format, false);
        }
    }
}
