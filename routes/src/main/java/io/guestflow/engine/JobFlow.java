package io.guestflow.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.management.EngineMetrics;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.Secrets;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobParser;
import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.processors.job.JobKeys;
import io.guestflow.processors.job.JobResult;
import io.guestflow.processors.job.PathPolicy;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's flow for the records one worker takes at a time (a unit;
 * {@link JobConsumer} hands them over and commits what this says is done):
 *
 * <ol>
 * <li>the results index proves it has read every result published so far;</li>
 * <li>each record is parsed and checked: not a job → dead letter; an invalid
 *     job → REJECTED; a job whose jobId has a result → skipped (unless it asks
 *     for a rerun its result allows);</li>
 * <li>the jobs to run or reject are claimed ({@link ClaimLedger}): a jobId
 *     another instance runs is not touched, its record waits;</li>
 * <li>claimed jobs run, inspect jobs sharing an appliance where they can;
 *     each result is published while its claim holds, never over a
 *     SUCCEEDED one, then the claim is released.</li>
 * </ol>
 *
 * Every exception a record's content can cause ends in a dead letter or a
 * REJECTED result (a defect inside an operation in a FAILED one): nothing
 * here makes the consumer read the same records again, except the broker
 * or the index being unavailable, or another instance holding the job.
 *
 * <p>What leaves the engine is redacted ({@link Secrets}): results, dead-letter
 * reasons and log lines here, events in {@link EventPublisher}. Every line
 * about a job carries its jobId ({@link JobLogContext}); every result,
 * dead letter, skip and abandoned job is counted ({@link EngineMetrics}).
 */
final class JobFlow {
    private static final Logger LOG = LoggerFactory.getLogger(JobFlow.class);
    private static final Duration SYNC_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration CLAIM_TIMEOUT = Duration.ofSeconds(15);
    /** How long a result that could not be published (the broker away) is kept before the job is given up. */
    static final Duration RESULT_HOLD = Duration.ofMinutes(10);

    /** A record of the jobs topic as the consumer read it. */
    record Rec(TopicPartition tp, long offset, String key, byte[] value, long timestamp) {
        String source() {
            return tp.topic() + "/" + tp.partition() + "/" + offset;
        }
    }

    /** What became of a record: done (its offset may be committed) or to be handled again later. */
    enum Fate { DONE, RETRY }

    /** How a unit ended: a fate per record, and why some are retried. */
    record Outcome(Fate[] fates, String retryReason) {
        boolean allDone() {
            return Arrays.stream(fates).allMatch(f -> f == Fate.DONE);
        }
    }

    private enum Kind { DEAD_LETTER, REJECT, REJECT_EVENT_ONLY, SKIP, RUN }

    /** One record's verdict before claims. */
    private static final class Item {
        final Rec rec;
        final Instant receivedAt = Instant.now();
        Kind kind;
        String jobId;
        String reason;
        Job job;
        ClaimLedger.Outcome claim;

        Item(Rec rec) {
            this.rec = rec;
        }

        Instant queuedAt() {
            return Instant.ofEpochMilli(rec.timestamp());
        }

        ClaimLedger.Claim won() {
            return claim instanceof ClaimLedger.Won w ? w.claim() : null;
        }
    }

    private final EngineConfig config;
    private final JobParser parser;
    private final PathPolicy paths;
    private final ResultIndex results;
    private final ClaimLedger claims;
    private final JobRunner runner;
    private final InspectBatchRunner batches;
    private final InspectBatchCollector collector;
    private final EventPublisher events;
    private final Producer<String, byte[]> producer;
    private final Producer<String, byte[]> resultProducer;
    private final Duration resultDelivery;
    private final HandlePool pool;
    private final ObjectMapper json;
    private final EngineMetrics metrics;

    /**
     * @param resultProducer sends results; its delivery timeout is {@code resultDelivery}, well under the lease
     */
    JobFlow(EngineConfig config, JobParser parser, PathPolicy paths, ResultIndex results, ClaimLedger claims,
            JobRunner runner, InspectBatchRunner batches, EventPublisher events, Producer<String, byte[]> producer,
            Producer<String, byte[]> resultProducer, Duration resultDelivery, HandlePool pool, ObjectMapper json,
            EngineMetrics metrics) {
        this.config = config;
        this.parser = parser;
        this.paths = paths;
        this.results = results;
        this.claims = claims;
        this.runner = runner;
        this.batches = batches;
        this.collector = new InspectBatchCollector(config.inspectBatchSize());
        this.events = events;
        this.producer = producer;
        this.resultProducer = resultProducer;
        this.resultDelivery = resultDelivery;
        this.pool = pool;
        this.json = json;
        this.metrics = metrics;
    }

    /**
     * Handles one unit on the calling (worker) thread. Interrupted (the engine
     * stops, or a claim was lost), it returns what was done so far.
     */
    Outcome handle(List<Rec> recs) {
        Fate[] fates = new Fate[recs.size()];
        Arrays.fill(fates, Fate.RETRY);
        Map<String, ClaimLedger.Claim> won = new HashMap<>();
        Set<String> computing = ConcurrentHashMap.newKeySet();
        try {
            return handle(recs, fates, won, computing);
        } catch (InterruptedException e) {
            computing.forEach(id -> abandoned(id, "interrupted: the engine stops"));
            return new Outcome(fates, "interrupted");
        } finally {
            // whatever happened, no claim of this unit outlives it
            won.values().forEach(ClaimLedger.Claim::release);
            Thread.interrupted();
        }
    }

    private Outcome handle(List<Rec> recs, Fate[] fates, Map<String, ClaimLedger.Claim> won, Set<String> computing)
            throws InterruptedException {
        if (!results.sync(SYNC_TIMEOUT)) {
            return new Outcome(fates, "the results index could not prove it is up to date (" + results.reason() + ")");
        }
        List<Item> items = new ArrayList<>();
        for (Rec r : recs) {
            items.add(classify(r));
        }
        // each jobId is claimed once per unit; a second record of it is a duplicate
        Map<String, Item> claiming = new HashMap<>();
        for (Item it : items) {
            if (it.kind == Kind.REJECT || it.kind == Kind.RUN) {
                Item first = claiming.putIfAbsent(it.jobId, it);
                if (first != null) {
                    if (it.kind == Kind.RUN) {
                        it.kind = Kind.SKIP;
                        it.reason = "the same jobId came twice together; it runs once";
                    } else {
                        it.kind = Kind.REJECT_EVENT_ONLY;
                    }
                }
            }
        }
        List<Item> toClaim = new ArrayList<>();
        for (Item it : claiming.values()) {
            ClaimLedger.Holder h = claims.holder(it.jobId);
            if (h != null) {
                // held by a live lease as far as this instance has read: no claim record needed to know it loses
                it.claim = new ClaimLedger.Held(it.jobId, h);
            } else {
                toClaim.add(it);
            }
        }
        Thread worker = Thread.currentThread();
        if (!toClaim.isEmpty()) {
            try {
                List<ClaimLedger.Outcome> out = claims.claim(toClaim.stream().map(i -> i.jobId).toList(),
                        lost -> fence(worker, lost, computing), CLAIM_TIMEOUT);
                for (int i = 0; i < toClaim.size(); i++) {
                    toClaim.get(i).claim = out.get(i);
                    if (out.get(i) instanceof ClaimLedger.Won w) {
                        won.put(w.claim().jobId(), w.claim());
                    }
                }
            } catch (ClaimLedger.Unavailable e) {
                return new Outcome(fates, e.getMessage());
            }
        }
        if (!won.isEmpty()) {
            // a holder publishes its result before it releases its claim: one that released just before our claims
            // won has a result we may not have read when we synced above. Read up to now again before running anything.
            if (!results.sync(SYNC_TIMEOUT)) {
                return new Outcome(fates, "the results index could not prove it is up to date (" + results.reason() + ")");
            }
            for (Item it : toClaim) {
                ClaimLedger.Claim c = it.won();
                if (c != null && results.hasResult(it.jobId)) {
                    Item again = it.kind == Kind.RUN ? dedup(it, it.job) : rejected(it, it.jobId, it.reason);
                    if (again.kind != Kind.RUN && again.kind != Kind.REJECT) {
                        c.release();
                        won.remove(it.jobId);
                        it.claim = null;
                    }
                }
            }
        }
        String retryReason = null;
        Set<TopicPartition> blocked = new HashSet<>();
        List<InspectBatchCollector.Queued> accepted = new ArrayList<>();
        Map<String, Integer> indexOf = new HashMap<>();
        for (int i = 0; i < items.size(); i++) {
            Item it = items.get(i);
            ClaimLedger.Claim mine = claiming.get(it.jobId) == it ? it.won() : null;
            if (blocked.contains(it.rec.tp())) {
                if (mine != null) {
                    mine.release(); // its record comes back after the one this partition waits for
                }
                continue;
            }
            // the lines about this record name its job
            try (JobLogContext ignored = JobLogContext.of(it.jobId, it.job == null ? null : it.job.type())) {
                switch (it.kind) {
                    case DEAD_LETTER -> {
                        deadLetter(it);
                        fates[i] = Fate.DONE;
                    }
                    case SKIP -> {
                        LOG.info("job {} not run: {}", it.jobId, it.reason);
                        metrics.jobSkipped();
                        events.lifecycle(it.jobId, Lifecycle.SKIPPED, Map.of("reason", it.reason));
                        fates[i] = Fate.DONE;
                    }
                    case REJECT_EVENT_ONLY -> {
                        LOG.warn("invalid message for job {}, which already has a result; result kept: {}", it.jobId,
                                Secrets.redact(it.reason));
                        events.lifecycle(it.jobId, Lifecycle.REJECTED, Map.of("reason", it.reason));
                        fates[i] = Fate.DONE;
                    }
                    case REJECT, RUN -> {
                        if (mine == null) {
                            ClaimLedger.Holder h = it.claim instanceof ClaimLedger.Held held ? held.holder() : null;
                            LOG.info("job {} is held by {} ({}); its partition {} waits", it.jobId,
                                    h == null ? "another record" : h.owner(), h == null ? "" : h.claimId(), it.rec.tp());
                            blocked.add(it.rec.tp());
                            retryReason = "job " + it.jobId + " runs elsewhere";
                            continue;
                        }
                        if (it.kind == Kind.REJECT) {
                            events.lifecycle(it.jobId, Lifecycle.REJECTED, Map.of("reason", it.reason));
                            JobResult r = JobResult.invalid(it.jobId, JobResult.Timings.notRun(it.queuedAt(),
                                    it.receivedAt), it.reason, config.instanceId());
                            fates[i] = publish(r, mine, false) ? Fate.DONE : Fate.RETRY;
                        } else {
                            events.lifecycle(it.jobId, Lifecycle.ACCEPTED, Map.of("type", it.job.type(), "disks",
                                    it.job.disks().size(), "timeoutSeconds", it.job.timeoutSeconds()));
                            accepted.add(new InspectBatchCollector.Queued(it.job, it.queuedAt(), it.receivedAt));
                            indexOf.put(it.jobId, i);
                        }
                    }
                    default -> throw new IllegalStateException(it.kind.name());
                }
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                // the broker: the record is handled again once it answers
                LOG.warn("record {}: {}; it is handled again later", it.rec.source(), Secrets.redact(e.toString()));
                blocked.add(it.rec.tp());
                retryReason = e.toString();
                if (mine != null) {
                    mine.release();
                }
            }
        }
        if (!accepted.isEmpty()) {
            String why = run(accepted, won, indexOf, fates, computing);
            retryReason = why != null ? why : retryReason;
        }
        return new Outcome(fates, retryReason);
    }

    /** Parse, validate, path policy, dedup: what to do with the record, before any claim. */
    private Item classify(Rec r) {
        Item it = new Item(r);
        Job job = null;
        try {
            // the strict parser enforces the engine's longest timeout and its debug switch
            job = parser.parse(r.value());
            it.jobId = job.jobId();
            paths.check(job);
        } catch (JobRejectedException e) {
            return rejected(it, e.jobId() != null ? e.jobId() : it.jobId, e.reason());
        } catch (GuestflowException e) {
            return rejected(it, it.jobId, e.getMessage());
        } catch (RuntimeException e) {
            // a shape nobody foresaw: a rejection with the reason, never a consumer that reads it again and again
            LOG.warn("record {}: unexpected {}", r.source(), Secrets.redact(e.toString()));
            return rejected(it, it.jobId, "invalid job: " + e);
        }
        it.job = job;
        return dedup(it, job);
    }

    /** Whether a valid job runs or is skipped, by what the results index holds for its jobId. */
    private Item dedup(Item it, Job job) {
        ResultIndex.Outcome done = results.outcome(job.jobId());
        switch (done) {
            case NONE -> it.kind = Kind.RUN;
            case SUCCEEDED -> skip(it, "a SUCCEEDED result for this jobId is already published");
            case FAILED -> skip(it, "a FAILED result (not retryable) for this jobId is already published; it cannot be rerun");
            case FAILED_RETRYABLE, REJECTED -> {
                if (job.rerun()) {
                    it.kind = Kind.RUN;
                    try (JobLogContext ignored = JobLogContext.of(job.jobId(), job.type())) {
                        LOG.info("job {}: rerun of a {} result, as asked", job.jobId(), done);
                    }
                } else {
                    skip(it, "a " + (done == ResultIndex.Outcome.REJECTED ? "REJECTED" : "FAILED (retryable)")
                            + " result for this jobId is already published; submit it with \"rerun\": true to run it again");
                }
            }
            case OTHER -> skip(it, "the results topic holds a record that is not a job result under this key");
            default -> throw new IllegalStateException(done.name());
        }
        return it;
    }

    private static void skip(Item it, String reason) {
        it.kind = Kind.SKIP;
        it.reason = reason;
    }

    private Item rejected(Item it, String jobId, String reason) {
        it.reason = reason;
        if (jobId == null) {
            it.kind = Kind.DEAD_LETTER;
            return it;
        }
        it.jobId = jobId;
        // an invalid message reusing a jobId that has a result must not replace that result
        it.kind = results.hasResult(jobId) ? Kind.REJECT_EVENT_ONLY : Kind.REJECT;
        return it;
    }

    /** Runs the claimed jobs; returns why some must be retried, or null. */
    private String run(List<InspectBatchCollector.Queued> accepted, Map<String, ClaimLedger.Claim> won,
                       Map<String, Integer> indexOf, Fate[] fates, Set<String> computing) throws InterruptedException {
        String retry = null;
        for (List<InspectBatchCollector.Queued> unit : collector.units(accepted)) {
            List<String> ids = unit.stream().map(q -> q.job().jobId()).toList();
            if (ids.stream().anyMatch(id -> !won.get(id).valid())) {
                ids.forEach(id -> won.get(id).release());
                retry = "claims lost before the jobs started";
                continue;
            }
            try {
                computing.addAll(ids);
                if (unit.size() == 1) {
                    InspectBatchCollector.Queued q = unit.get(0);
                    JobResult r = runner.run(q.job(), q.queuedAt(), q.receivedAt());
                    computing.remove(r.jobId()); // its work is done: a lapsed claim now only delays the result
                    if (publish(r, won.get(r.jobId()), q.job().rerun())) {
                        fates[indexOf.get(r.jobId())] = Fate.DONE;
                    }
                } else {
                    Map<String, Boolean> rerun = new HashMap<>();
                    unit.forEach(q -> rerun.put(q.job().jobId(), q.job().rerun()));
                    batches.run(unit, r -> {
                        computing.remove(r.jobId());
                        if (publish(r, won.get(r.jobId()), rerun.get(r.jobId()))) {
                            fates[indexOf.get(r.jobId())] = Fate.DONE;
                        }
                    });
                }
            } catch (GuestflowException e) {
                if (e.code() != ErrorCode.POOL_CLOSED) {
                    throw e;
                }
                // the engine stops, or a claim was lost: no result; the job runs again (here or elsewhere)
                retry = "given up: " + e.getMessage();
                for (String id : ids) {
                    if (computing.remove(id)) {
                        abandoned(id, e.getMessage());
                    }
                }
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                retry = "failed: " + e;
                for (String id : ids) {
                    if (computing.remove(id)) {
                        abandoned(id, e.toString());
                    }
                }
            } finally {
                // a job given up releases its claim so that whoever takes it next need not wait for the lease to end
                ids.forEach(id -> won.get(id).release());
            }
        }
        return retry;
    }

    /**
     * Publishes a result while a claim on its job holds, never over a
     * SUCCEEDED one, then releases the claim. When the broker is away (the
     * send fails, or the claim's lease lapses meanwhile) the result is kept
     * and the job claimed anew once the broker is back: won, the result is
     * published under the new claim (the job is not run again); held by
     * another instance, or not back within {@link #RESULT_HOLD}, the result is
     * dropped and false returned (the record is handled again: skipped once
     * another result is there, else run again).
     */
    private boolean publish(JobResult r, ClaimLedger.Claim claim, boolean rerun) throws InterruptedException {
        try (JobLogContext ignored = JobLogContext.of(r.jobId(), r.type())) {
            return publishLogged(r, claim, rerun);
        }
    }

    private boolean publishLogged(JobResult r, ClaimLedger.Claim claim, boolean rerun) throws InterruptedException {
        long giveUp = System.nanoTime() + RESULT_HOLD.toNanos();
        ClaimLedger.Claim held = claim;
        try {
            while (true) {
                if (held == null || held.ensureValidFor(resultDelivery.plusSeconds(1))) {
                    try {
                        send(r, rerun);
                        return true;
                    } catch (ExecutionException e) {
                        LOG.warn("job {}: result not published yet ({}); kept while the claim holds", r.jobId(),
                                Secrets.redact(e.getCause() == null ? e.toString() : e.getCause().toString()));
                    }
                }
                if (System.nanoTime() > giveUp) {
                    abandoned(r.jobId(), "its result could not be published within " + RESULT_HOLD.toMinutes() + " min");
                    return false;
                }
                Thread.sleep(1000);
                if (held != null && held.valid()) {
                    continue; // the send failed but the lease holds: send again
                }
                // the lease lapsed while the broker was away: whoever claims the job now runs it; try to be that one
                if (!results.sync(SYNC_TIMEOUT)) {
                    continue;
                }
                if (results.hasResult(r.jobId())) {
                    LOG.warn("job {}: another instance published its result meanwhile; ours is dropped", r.jobId());
                    return true;
                }
                ClaimLedger.Outcome again;
                try {
                    again = claims.claim(List.of(r.jobId()), lost -> { }, CLAIM_TIMEOUT).get(0);
                } catch (ClaimLedger.Unavailable e) {
                    continue;
                }
                if (held != null) {
                    held.release();
                }
                if (again instanceof ClaimLedger.Won w) {
                    held = w.claim();
                    LOG.info("job {}: claimed anew after the broker came back; publishing the result it has", r.jobId());
                } else {
                    held = null;
                    abandoned(r.jobId(), "another instance claimed it while the broker was away");
                    return false;
                }
            }
        } finally {
            if (held != null) {
                held.release();
            }
        }
    }

    /** Sends the result unless a better or earlier one is there; waits for the broker's acknowledgement. */
    private void send(JobResult r, boolean rerun) throws InterruptedException, ExecutionException {
        ResultIndex.Outcome before = results.outcome(r.jobId());
        if (before == ResultIndex.Outcome.SUCCEEDED || (before != ResultIndex.Outcome.NONE && !rerun)) {
            // cannot happen while claims hold; if it does, the better (or first) result stays
            LOG.warn("job {}: {} result not published over the {} one already there", r.jobId(), r.status(), before);
            return;
        }
        byte[] value;
        try {
            // one redaction for every result: URIs' userinfo and queries, passwords (Secrets)
            value = json.writeValueAsBytes(Secrets.redact((JsonNode) json.valueToTree(r)));
        } catch (Exception e) {
            throw new IllegalStateException("cannot serialise the result of " + r.jobId(), e);
        }
        ProducerRecord<String, byte[]> rec = new ProducerRecord<>(config.topics().results(), r.jobId(), value);
        boolean retryable = r.error() != null && r.error().retryable();
        rec.headers().add(new RecordHeader(ResultIndex.STATUS_HEADER, r.status().name().getBytes(StandardCharsets.UTF_8)));
        rec.headers().add(new RecordHeader(ResultIndex.RETRYABLE_HEADER, Boolean.toString(retryable).getBytes(StandardCharsets.UTF_8)));
        resultProducer.send(rec).get(); // bounded by the producer's delivery timeout, under the lease
        results.record(r.jobId(), ResultIndex.Outcome.of(r.status().name(), retryable));
        metrics.jobFinished(r);
        switch (r.status()) {
            case SUCCEEDED -> events.lifecycle(r.jobId(), Lifecycle.SUCCEEDED, Map.of("attempts", r.attempts()));
            case FAILED -> events.lifecycle(r.jobId(), Lifecycle.FAILED, Map.of("code", r.error().code(), "message", r.error().message()));
            case REJECTED -> { }
            default -> throw new IllegalStateException();
        }
        events.finished(r.jobId());
        LOG.info("job {}: {}", r.jobId(), r.status());
    }

    /** A job given up here without a result (it runs again, here or elsewhere): said on the log topic. */
    private void abandoned(String jobId, String why) {
        try (JobLogContext ignored = JobLogContext.of(jobId, null)) {
            LOG.warn("job {} given up without a result: {}; it runs again", jobId, Secrets.redact(why));
        }
        metrics.jobAbandoned();
        events.lifecycle(jobId, Lifecycle.ABANDONED, Map.of("reason", why));
    }

    private void deadLetter(Item it) throws Exception {
        String reason = Secrets.redact(it.reason);
        // the original bytes, except a key carried inline: that is masked (or, in what is no JSON, the whole value goes)
        byte[] original = it.rec.value();
        byte[] raw = JobKeys.redactInline(original);
        ProducerRecord<String, byte[]> rec = new ProducerRecord<>(config.topics().dlq(), it.rec.key(), raw == null ? new byte[0] : raw);
        rec.headers().add(new RecordHeader("guestflow.reason", reason.getBytes(StandardCharsets.UTF_8)));
        if (raw != original) {
            rec.headers().add(new RecordHeader("guestflow.redacted", (raw.length == 0
                    ? "value dropped: not JSON and it may hold a key" : "inline key values masked")
                    .getBytes(StandardCharsets.UTF_8)));
        }
        rec.headers().add(new RecordHeader("guestflow.source", it.rec.source().getBytes(StandardCharsets.UTF_8)));
        producer.send(rec).get();
        metrics.deadLettered();
        LOG.warn("dead-lettered a message from {}: {}", it.rec.source(), reason);
    }

    /**
     * A claim of this unit was lost. Its job still computing: stop it now
     * (kill its appliance, interrupt the worker); nothing of it is published.
     * Its work done: nothing to stop; {@link #publish} claims the job anew.
     */
    private void fence(Thread worker, ClaimLedger.Claim lost, Set<String> computing) {
        if (!computing.contains(lost.jobId())) {
            return;
        }
        int killed = pool.killLeasesOf(worker, ErrorCode.POOL_CLOSED, "the claim on job " + lost.jobId() + " was lost");
        try (JobLogContext ignored = JobLogContext.of(lost.jobId(), null)) {
            LOG.warn("job {}: claim lost while it runs; {} appliance(s) killed, worker interrupted", lost.jobId(), killed);
        }
        worker.interrupt();
    }
}
