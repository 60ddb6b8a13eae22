package io.guestflow.processors.journal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.processors.job.Job;

/**
 * Where a journal job's records go, in order: the journal topic in the
 * engine, standard output on the command line. {@link #accept} may block:
 * that is the back-pressure that keeps the export's memory bounded.
 */
public interface JournalSink {

    /** One record; blocks while the destination cannot take more. */
    void accept(ObjectNode record) throws Exception;

    /** Waits until every record is delivered; throws if any was not. */
    void complete() throws Exception;

    /** Drops what is still pending after a failure; must not throw. */
    default void abort() {
    }

    /** Opens the sink of one attempt of a job. */
    @FunctionalInterface
    interface Factory {
        JournalSink open(Job job);
    }
}
