package io.guestflow.processors.journal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobExecution;
import io.guestflow.processors.job.JobOperation;
import java.util.List;

/**
 * The {@code journal} job type: the guest's journal (or classic text logs)
 * streamed as records to a {@link JournalSink}, read-only.
 */
public final class JournalJobOperation implements JobOperation {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final JournalSink.Factory sinks;

    /** @param sinks where each attempt's records go (the journal topic in the engine) */
    public JournalJobOperation(JournalSink.Factory sinks) {
        this.sinks = sinks;
    }

    /** For registries that only validate (e.g. {@code submit}): running a job through it is a programming error. */
    public static JournalJobOperation validateOnly() {
        return new JournalJobOperation(job -> {
            throw new IllegalStateException("journal job " + job.jobId() + " has no sink to publish its entries to");
        });
    }

    @Override
    public String type() {
        return "journal";
    }

    @Override
    public String description() {
        return "the guest's systemd journal (or its classic text logs), filtered like journalctl, one record per entry";
    }

    @Override
    public boolean readOnly() {
        return true;
    }

    @Override
    public void validate(Job job) {
        JournalOptions.of(job);
    }

    @Override
    public Object run(ApplianceHandle handle, Job job) throws Exception {
        throw new UnsupportedOperationException("journal jobs run through prepare()");
    }

    /** Its own execution: the sink is opened per step and aborted when the step does not complete. */
    @Override
    public JobExecution prepareStep(Job job, List<Drive> attached) {
        return prepare(job, attached);
    }

    @Override
    public JobExecution prepare(Job job, List<Drive> disks) {
        JournalOptions options = JournalOptions.of(job);
        JournalSink sink = sinks.open(job);
        return new JobExecution() {
            private boolean completed;

            @Override
            public List<Drive> drives() {
                return disks;
            }

            @Override
            public Object run(ApplianceHandle handle) throws Exception {
                JournalReport report = new JournalExport(job.jobId(), options, sink, JSON).run(handle.gfs(), handle.inspectOs());
                completed = true;
                return report;
            }

            @Override
            public void close() {
                if (!completed) {
                    sink.abort();
                }
            }
        };
    }
}
