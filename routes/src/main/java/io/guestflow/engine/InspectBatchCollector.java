package io.guestflow.engine;

import io.guestflow.processors.job.Job;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits the jobs one poll brought into units of work: read-only inspect
 * jobs are collected into batches of up to {@code batchSize} guests that
 * share one appliance; every other job is a unit of its own. The poll
 * itself is the collection window: a consumer takes what is in the topic
 * now, waiting at most {@code inspect-batch-wait-ms} for more.
 */
final class InspectBatchCollector {
    /** A job as the consumer received it. */
    record Queued(Job job, Instant queuedAt, Instant receivedAt) {
    }

    private final int batchSize;

    InspectBatchCollector(int batchSize) {
        this.batchSize = batchSize;
    }

    /**
     * Units in the order their first job arrived; a unit of one job runs as
     * usual, a larger one is a batch (all inspect jobs).
     */
    List<List<Queued>> units(List<Queued> jobs) {
        List<List<Queued>> units = new ArrayList<>();
        List<Queued> batch = null;
        for (Queued q : jobs) {
            if (batchSize > 1 && batchable(q.job())) {
                if (batch == null || batch.size() == batchSize) {
                    batch = new ArrayList<>();
                    units.add(batch);
                }
                batch.add(q);
            } else {
                units.add(List.of(q));
            }
        }
        return units;
    }

    /**
     * Inspect jobs, unless they asked for debug events (a shared handle's
     * trace would mix guests), label their disks (labels must be unique on
     * one appliance) or have LUKS keys (one guest's keys are never tried on,
     * nor its opened containers shown to, another guest: a job with keys runs alone).
     */
    static boolean batchable(Job job) {
        return job.type().equals("inspect") && !job.debug() && job.keys().isEmpty()
                && job.disks().stream().allMatch(d -> d.label() == null);
    }
}
