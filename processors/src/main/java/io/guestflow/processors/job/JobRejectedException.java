package io.guestflow.processors.job;

/**
 * A message that is not a valid job. {@link #jobId()} is known when the
 * message parsed far enough to name one: then a REJECTED result is
 * published for it; otherwise the raw bytes go to the dead-letter topic.
 */
public class JobRejectedException extends RuntimeException {
    private final String jobId;

    public JobRejectedException(String jobId, String reason) {
        super(reason);
        this.jobId = jobId;
    }

    /** An option the job type does not have, with the ones it has. */
    public static JobRejectedException unknownOption(String jobId, String type, String name,
                                                     java.util.Collection<String> known) {
        return new JobRejectedException(jobId, type + " has no option '" + name + "' (it has: "
                + String.join(", ", known.stream().sorted().toList()) + ")");
    }

    public String jobId() {
        return jobId;
    }

    public String reason() {
        return getMessage();
    }
}
