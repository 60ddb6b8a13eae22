package io.guestflow.processors.inspect;

import com.fasterxml.jackson.databind.JsonNode;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobOperation;
import io.guestflow.processors.job.JobRejectedException;
import java.util.Iterator;

/** The {@code inspect} job type. Options: {@code applications} (boolean, default true). */
public final class InspectJobOperation implements JobOperation {

    @Override
    public String type() {
        return "inspect";
    }

    @Override
    public String description() {
        return "what virt-inspector reports: OS, version, hostname, mountpoints, filesystems, applications";
    }

    @Override
    public boolean readOnly() {
        return true;
    }

    @Override
    public void validate(Job job) {
        options(job);
    }

    public static InspectOptions options(Job job) {
        boolean applications = true;
        for (Iterator<String> it = job.options().fieldNames(); it.hasNext(); ) {
            String name = it.next();
            JsonNode v = job.options().get(name);
            if (name.equals("applications")) {
                if (!v.isBoolean()) {
                    throw new JobRejectedException(job.jobId(), "option 'applications' must be true or false");
                }
                applications = v.asBoolean();
            } else {
                throw new JobRejectedException(job.jobId(), "inspect has no option '" + name + "' (it has: applications)");
            }
        }
        return new InspectOptions(applications);
    }

    @Override
    public InspectionReport run(ApplianceHandle handle, Job job) throws Exception {
        return new InspectOperation(options(job)).run(handle.gfs(), handle.inspectOs());
    }
}
