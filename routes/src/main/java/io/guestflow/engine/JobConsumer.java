package io.guestflow.engine;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The jobs consumer: one thread that only polls, and workers that run the
 * jobs. The poll loop never waits for a job, so {@code max.poll.interval.ms}
 * stays at minutes whatever the jobs' timeouts, and a rebalance never waits
 * for a running job (cooperative-sticky assignment, or the KIP-848 protocol).
 *
 * <ul>
 * <li>Records queue per partition. A worker takes a unit: the queued records
 *     of the partitions that have nothing running, up to
 *     {@code inspect-batch-size} of them (inspect jobs among them share an
 *     appliance), waiting {@code inspect-batch-wait-ms} for company.</li>
 * <li>A partition whose records run, or that has a full queue, is paused,
 *     and resumed when its unit is done: a partition's records are handled
 *     in order, one unit at a time.</li>
 * <li>When a unit is done, each partition's offset is committed up to its
 *     first record not done (results are published before that); records
 *     not done go back to the front of their queue and are handled again
 *     after a short wait (their job runs elsewhere, or the broker is away).</li>
 * <li>A revoked partition's queue is dropped (the next owner reads it from
 *     the committed offset); its running unit is not waited for: the claim
 *     on each job keeps the next owner from starting it while it runs here,
 *     and the new owner skips it once its result is published.</li>
 * <li>While the engine is not ready (results index or claims not
 *     following), every partition is paused and nothing is taken; the
 *     consumer keeps polling to stay in its group.</li>
 * </ul>
 */
final class JobConsumer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JobConsumer.class);
    /** How long records that could not be handled wait before they are tried again. */
    static final Duration RETRY_WAIT = Duration.ofSeconds(1);

    /** Readiness as the consumer needs it: null when ready, else why not. */
    interface Readiness extends Supplier<String> {
    }

    private static final class Part {
        final ArrayDeque<JobFlow.Rec> queue = new ArrayDeque<>();
        boolean inFlight;
        boolean paused;
        long notBeforeNanos;
        /** Bumped on every (re)assignment: a unit of an older epoch commits nothing. */
        int epoch;
    }

    private record Done(List<JobFlow.Rec> recs, Map<TopicPartition, Integer> epochs, JobFlow.Outcome outcome) {
    }

    private final EngineConfig config;
    private final JobFlow flow;
    private final Readiness readiness;
    private final int workers;
    private final ExecutorService pool;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Map<TopicPartition, Part> parts = new LinkedHashMap<>();
    private final ConcurrentLinkedQueue<Done> done = new ConcurrentLinkedQueue<>();
    private final AtomicInteger busy = new AtomicInteger();
    private final Thread thread;
    private final AtomicInteger epochs = new AtomicInteger();
    private volatile boolean running = true;
    private volatile boolean taking = true;
    private volatile String notReady;
    /** Why the poll loop ended while the engine was running (a defect or a fatal client error), or null. */
    private volatile String stoppedBecause;
    private long lastArrivalNanos;
    private int rr;

    JobConsumer(EngineConfig config, Map<String, Object> clientProps, JobFlow flow, Readiness readiness) {
        this.config = config;
        this.flow = flow;
        this.readiness = readiness;
        this.workers = config.effectiveConsumers();
        this.pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "guestflow-worker");
            t.setDaemon(true);
            return t;
        });
        this.consumer = new KafkaConsumer<>(consumerProps(config, clientProps), new StringDeserializer(),
                new ByteArrayDeserializer());
        this.thread = new Thread(this::loop, "guestflow-jobs-consumer");
    }

    static Properties consumerProps(EngineConfig config, Map<String, Object> clientProps) {
        Properties p = new Properties();
        p.putAll(clientProps);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // a poll brings at most one batch's worth; partitions with enough queued are paused anyway
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(Math.max(config.inspectBatchSize(), 8)));
        p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, String.valueOf(config.maxPollInterval().toMillis()));
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "guestflow-jobs-" + config.instanceId());
        if (config.groupProtocol() == EngineConfig.GroupProtocol.CONSUMER) {
            // KIP-848: the broker assigns incrementally; session and assignor are the group's (broker-side) settings
            p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
            p.remove(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG);
            p.remove(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG);
            p.remove(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG);
        } else {
            p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
            // incremental rebalances: only the partitions that move stop, and nobody waits for running jobs
            p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        }
        return p;
    }

    void start() {
        consumer.subscribe(List.of(config.topics().jobs()), new Rebalance());
        thread.start();
    }

    /** Partitions this instance owns now. */
    synchronized Set<TopicPartition> assignment() {
        return Set.copyOf(parts.keySet());
    }

    /** Units running now. */
    int busy() {
        return busy.get();
    }

    /** Why the poll loop ended although nobody closed the consumer, or null while it runs: a restart cures it. */
    String stoppedBecause() {
        return stoppedBecause;
    }

    /** Why the consumer takes nothing now, or null when it takes jobs. */
    String notReady() {
        return notReady;
    }

    private void loop() {
        try {
            while (running) {
                try {
                    step();
                } catch (WakeupException e) {
                    if (!running) {
                        break;
                    }
                    // a worker's wake-up call that hit another call than poll: go round again
                }
            }
        } catch (Exception e) {
            stoppedBecause = e.toString();
            notReady = "the jobs consumer stopped: " + e;
            LOG.error("jobs consumer stopped", e);
        } finally {
            synchronized (this) {
                finishUnits();
            }
            try {
                consumer.close(Duration.ofSeconds(10));
            } catch (Exception e) {
                LOG.warn("closing the jobs consumer: {}", e.toString());
            }
        }
    }

    /** One round: poll, queue what came, finish done units, dispatch, pause and resume. */
    private void step() {
        boolean queued;
        synchronized (this) {
            queued = parts.values().stream().anyMatch(p -> !p.queue.isEmpty());
        }
        long wait = queued ? Math.min(config.pollTimeout().toMillis(), Math.max(5, config.inspectBatchWait().toMillis()))
                : config.pollTimeout().toMillis();
        ConsumerRecords<String, byte[]> records;
        try {
            records = consumer.poll(Duration.ofMillis(wait));
        } catch (WakeupException e) {
            if (!running) {
                return;
            }
            records = ConsumerRecords.empty(); // a worker finished a unit: commit and dispatch now
        }
        synchronized (this) {
            for (ConsumerRecord<String, byte[]> r : records) {
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                Part p = parts.get(tp);
                if (p != null) {
                    p.queue.add(new JobFlow.Rec(tp, r.offset(), r.key(), r.value(), r.timestamp()));
                }
            }
            if (!records.isEmpty()) {
                lastArrivalNanos = System.nanoTime();
            }
            finishUnits();
            String why = taking ? readiness.get() : "stopping";
            if (why != null && !why.equals(notReady) && taking) {
                LOG.warn("engine not ready, taking no jobs: {}", why);
            } else if (why == null && notReady != null) {
                LOG.info("engine ready again: taking jobs");
            }
            notReady = why;
            if (why == null) {
                dispatch();
            }
            updatePauses(why != null);
        }
    }

    /** Hands units to free workers. */
    private void dispatch() {
        long now = System.nanoTime();
        while (busy.get() < workers) {
            List<Map.Entry<TopicPartition, Part>> ready = new ArrayList<>();
            int available = 0;
            for (Map.Entry<TopicPartition, Part> e : parts.entrySet()) {
                Part p = e.getValue();
                if (!p.inFlight && !p.queue.isEmpty() && p.notBeforeNanos <= now) {
                    ready.add(e);
                    available += p.queue.size();
                }
            }
            if (ready.isEmpty()) {
                return;
            }
            int batch = config.inspectBatchSize();
            if (available < batch && now - lastArrivalNanos < config.inspectBatchWait().toNanos()) {
                return; // more may come to share an appliance
            }
            // what is there is shared among the free workers (12 jobs, 2 workers: 6 and 6), at most a batch each
            int free = workers - busy.get();
            int size = Math.max(1, Math.min(batch, (available + free - 1) / free));
            // partitions in turn, so that one busy partition does not starve the others
            List<JobFlow.Rec> unit = new ArrayList<>();
            Map<TopicPartition, Integer> epochsOf = new HashMap<>();
            int start = rr++ % ready.size();
            for (int k = 0; k < ready.size() && unit.size() < size; k++) {
                Map.Entry<TopicPartition, Part> e = ready.get((start + k) % ready.size());
                Part p = e.getValue();
                while (!p.queue.isEmpty() && unit.size() < size) {
                    unit.add(p.queue.poll());
                }
                p.inFlight = true;
                epochsOf.put(e.getKey(), p.epoch);
            }
            busy.incrementAndGet();
            pool.execute(() -> {
                JobFlow.Outcome outcome;
                try {
                    outcome = flow.handle(unit);
                } catch (Throwable t) {
                    LOG.error("unit of {} record(s) failed", unit.size(), t);
                    JobFlow.Fate[] retry = new JobFlow.Fate[unit.size()];
                    java.util.Arrays.fill(retry, JobFlow.Fate.RETRY);
                    outcome = new JobFlow.Outcome(retry, t.toString());
                }
                done.add(new Done(unit, epochsOf, outcome));
                busy.decrementAndGet();
                consumer.wakeup(); // the poll loop commits and resumes now, not after its poll timeout
            });
        }
    }

    /** Commits what the finished units did, and queues again what they did not. */
    private void finishUnits() {
        for (Done d; (d = done.poll()) != null; ) {
            Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
            Map<TopicPartition, List<JobFlow.Rec>> again = new LinkedHashMap<>();
            Set<TopicPartition> stopped = new HashSet<>();
            for (int i = 0; i < d.recs.size(); i++) {
                JobFlow.Rec r = d.recs.get(i);
                Part p = parts.get(r.tp());
                if (p == null || p.epoch != d.epochs.get(r.tp())) {
                    continue; // revoked since: the next owner handles it from the committed offset
                }
                if (d.outcome.fates()[i] == JobFlow.Fate.DONE && !stopped.contains(r.tp())) {
                    commit.put(r.tp(), new OffsetAndMetadata(r.offset() + 1));
                } else {
                    stopped.add(r.tp());
                    again.computeIfAbsent(r.tp(), k -> new ArrayList<>()).add(r);
                }
            }
            for (TopicPartition tp : d.epochs.keySet()) {
                Part p = parts.get(tp);
                if (p != null && p.epoch == d.epochs.get(tp)) {
                    p.inFlight = false;
                    List<JobFlow.Rec> back = again.get(tp);
                    if (back != null) {
                        for (int i = back.size() - 1; i >= 0; i--) {
                            p.queue.addFirst(back.get(i));
                        }
                        p.notBeforeNanos = System.nanoTime() + RETRY_WAIT.toNanos();
                    }
                }
            }
            if (!again.isEmpty()) {
                LOG.debug("{} record(s) handled again in {} ms: {}", again.values().stream().mapToInt(List::size).sum(),
                        RETRY_WAIT.toMillis(), d.outcome.retryReason());
            }
            if (!commit.isEmpty()) {
                commit(commit);
            }
        }
    }

    private void commit(Map<TopicPartition, OffsetAndMetadata> offsets) {
        for (int attempt = 1; ; attempt++) {
            try {
                consumer.commitSync(offsets, Duration.ofSeconds(15));
                return;
            } catch (WakeupException e) {
                // a worker's wake-up call (it finished a unit), not a stop: commit anyway
                if (!running || attempt >= 10) {
                    LOG.warn("offsets {} not committed: stopping", offsets);
                    return;
                }
            } catch (Exception e) {
                // partitions moved meanwhile: their new owner re-reads those records and skips them (results exist)
                LOG.warn("offsets {} not committed: {}", offsets, e.toString());
                return;
            }
        }
    }

    private void updatePauses(boolean pauseAll) {
        List<TopicPartition> pause = new ArrayList<>();
        List<TopicPartition> resume = new ArrayList<>();
        long now = System.nanoTime();
        for (Map.Entry<TopicPartition, Part> e : parts.entrySet()) {
            Part p = e.getValue();
            boolean want = pauseAll || p.inFlight || p.queue.size() >= config.inspectBatchSize()
                    || (!p.queue.isEmpty() && p.notBeforeNanos > now);
            if (want && !p.paused) {
                pause.add(e.getKey());
                p.paused = true;
            } else if (!want && p.paused) {
                resume.add(e.getKey());
                p.paused = false;
            }
        }
        if (!pause.isEmpty()) {
            consumer.pause(pause);
        }
        if (!resume.isEmpty()) {
            consumer.resume(resume);
        }
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
            drop(revoked, "revoked");
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> lost) {
            drop(lost, "lost");
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
            synchronized (JobConsumer.this) {
                for (TopicPartition tp : assigned) {
                    Part p = new Part();
                    p.epoch = epochs.incrementAndGet();
                    parts.put(tp, p);
                }
            }
            if (!assigned.isEmpty()) {
                LOG.info("jobs partitions assigned: {}", assigned);
            }
        }

        /** Returns at once: queued records are dropped, running units keep running (their claims protect them). */
        private void drop(Collection<TopicPartition> gone, String how) {
            synchronized (JobConsumer.this) {
                for (TopicPartition tp : gone) {
                    Part p = parts.remove(tp);
                    if (p != null && p.inFlight) {
                        LOG.info("partition {} {} while its jobs run here; they finish, its next owner skips them", tp, how);
                    }
                }
            }
            if (!gone.isEmpty()) {
                LOG.info("jobs partitions {}: {}", how, gone);
            }
        }
    }

    /**
     * Stops taking jobs, waits up to {@code grace} for running units (the pool
     * kills what still runs after that, see Engine), commits what they did and
     * leaves the group.
     */
    void stopTaking() {
        taking = false;
    }

    boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (busy.get() > 0) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
        return true;
    }

    @Override
    public void close() throws InterruptedException {
        taking = false;
        awaitIdle(Duration.ofSeconds(5));
        running = false;
        consumer.wakeup();
        thread.join(20_000);
        pool.shutdownNow();
        pool.awaitTermination(10, TimeUnit.SECONDS);
    }
}
