package io.guestflow.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At most one execution of a jobId at a time, across every engine instance:
 * a lease per jobId on the claims topic (key = jobId, broker-assigned
 * {@code LogAppendTime} timestamps, one total order per partition).
 *
 * <p>Every instance reads the whole topic and applies the same rule to each
 * record in log order, so every instance agrees on who holds a jobId at every
 * offset:
 * <ul>
 * <li>{@code claim(c)} at broker time t takes the job when nobody holds it,
 *     or the holder's lease ended before t (expiry = its last record's time
 *     + lease); otherwise it loses;</li>
 * <li>{@code renew(c)} extends c's lease (ignored when another claim holds it);</li>
 * <li>{@code release(c)} ends c's lease.</li>
 * </ul>
 * An instance that wants to run a job appends a claim and reads the topic up
 * to that claim: the rule tells it whether it won. The winner renews every
 * quarter lease while the job runs. Fencing: the winner stops the job itself
 * (kills its appliance, publishes nothing) once its own clock says
 * {@code last acknowledged renewal's send time + lease - margin} has passed,
 * which is before any other instance can win a claim (whose time is the
 * broker's, later than that send), as long as clocks run at about the same
 * rate. A renewal the broker timestamps after the lease ended means the
 * lease was lost. A killed instance's leases end by themselves; one that
 * stops releases them.
 *
 * <p>The topic uses {@code cleanup.policy=delete} (compaction would drop the
 * claim a later renewal depends on) with a retention far longer than a lease.
 */
public final class ClaimLedger extends TopicFollower<String> {
    private static final Logger LOG = LoggerFactory.getLogger(ClaimLedger.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Who holds a job, as the log says. */
    public record Holder(String claimId, String owner, long expiresAt, int partition) {
    }

    /** The answer to a claim: won (with the lease to renew), or held by someone else. */
    public sealed interface Outcome permits Won, Held {
    }

    public record Won(Claim claim) implements Outcome {
    }

    public record Held(String jobId, Holder holder) implements Outcome {
    }

    /** The ledger cannot answer: the broker or the follower is not there. Nothing is decided. */
    public static final class Unavailable extends Exception {
        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final String owner;
    private final Duration lease;
    private final Duration margin;
    private final Producer<String, byte[]> producer;
    private final Map<String, Holder> holders = new HashMap<>();
    /** Decisions about this instance's claims, by claim id, until the claimant takes them. */
    private final Map<String, Outcome> decisions = new ConcurrentHashMap<>();
    private final Map<String, Claim> pending = new ConcurrentHashMap<>();
    private final Set<Claim> active = ConcurrentHashMap.newKeySet();
    private final Map<Integer, Long> newestPerPartition = new ConcurrentHashMap<>();
    /** The newest broker timestamp seen, and when (local nanos) it was seen: an estimate of the broker's clock. */
    private volatile long brokerMillis;
    private volatile long brokerSeenNanos = System.nanoTime();
    private final ScheduledExecutorService renewer;
    private final ScheduledExecutorService fencer;
    private long lastGc = System.nanoTime();

    /**
     * @param producer acks=all, idempotent, with a delivery timeout well under the lease
     * @param lease    how long a claim lasts without a renewal
     */
    public ClaimLedger(Map<String, Object> clientProps, String topic, String owner, Duration lease,
                       Producer<String, byte[]> producer) {
        super("claims", clientProps, topic, new StringDeserializer(), Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000"));
        this.owner = owner;
        this.lease = lease;
        this.margin = lease.dividedBy(6);
        this.producer = producer;
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "guestflow-claim-renewer");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(100, lease.toMillis() / 4);
        renewer.scheduleWithFixedDelay(this::renewAll, every, every, TimeUnit.MILLISECONDS);
        // fencing on time must not wait behind a renewal that blocks (the broker away): a thread of its own
        this.fencer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "guestflow-claim-fencer");
            t.setDaemon(true);
            return t;
        });
        long check = Math.max(50, Math.min(500, lease.toMillis() / 20));
        fencer.scheduleWithFixedDelay(this::fenceExpired, check, check, TimeUnit.MILLISECONDS);
        startFollowing();
    }

    public Duration lease() {
        return lease;
    }

    /** Claims this instance holds now. */
    public int activeClaims() {
        return active.size();
    }

    /**
     * Tries to claim each job: appends the claims together, then reads the
     * topic past them. Outcomes in the order of {@code jobIds}.
     *
     * @param onLost called (on the renewer's thread) if a won claim's lease is lost while held
     */
    public List<Outcome> claim(List<String> jobIds, Consumer<Claim> onLost, Duration timeout)
            throws Unavailable, InterruptedException {
        if (!caughtUp()) {
            throw new Unavailable("claims not followed: " + reason(), null);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Claim> claims = new ArrayList<>();
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (String id : jobIds) {
            Claim c = new Claim(id, UUID.randomUUID().toString(), onLost);
            claims.add(c);
            pending.put(c.claimId, c);
            c.sentNanos = System.nanoTime();
            sent.add(producer.send(record(id, "claim", c.claimId)));
        }
        try {
            Map<Integer, Long> need = new HashMap<>();
            for (int i = 0; i < claims.size(); i++) {
                RecordMetadata md = sent.get(i).get(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())),
                        TimeUnit.MILLISECONDS);
                Claim c = claims.get(i);
                c.partition = md.partition();
                c.acked(md.timestamp(), c.sentNanos);
                need.merge(md.partition(), md.offset() + 1, Math::max);
            }
            if (!awaitPositions(need, deadline)) {
                throw new IllegalStateException("the claims follower did not read its own claims in time (" + reason() + ")");
            }
        } catch (InterruptedException e) {
            claims.forEach(c -> pending.remove(c.claimId));
            throw e;
        } catch (Exception e) {
            claims.forEach(c -> pending.remove(c.claimId));
            // claims that did land expire by themselves: nobody renews them
            throw new Unavailable("cannot claim on " + topic + ": " + e, e);
        }
        List<Outcome> out = new ArrayList<>();
        for (Claim c : claims) {
            pending.remove(c.claimId);
            Outcome o = decisions.remove(c.claimId);
            if (o == null) {
                throw new Unavailable("no decision read for claim " + c.claimId + " of " + c.jobId, null);
            }
            if (o instanceof Won) {
                active.add(c);
                o = new Won(c);
            }
            out.add(o);
        }
        return out;
    }

    /** Who holds {@code jobId} now, as far as this instance has read; null when nobody (or the lease ended). */
    public Holder holder(String jobId) {
        synchronized (holders) {
            Holder h = holders.get(jobId);
            return h != null && h.expiresAt > brokerNow() ? h : null;
        }
    }

    /** The broker's clock, estimated from the newest timestamp read and the time since. */
    long brokerNow() {
        return brokerMillis + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - brokerSeenNanos);
    }

    private ProducerRecord<String, byte[]> record(String jobId, String op, String claimId) {
        ObjectNode v = JSON.createObjectNode();
        v.put("op", op);
        v.put("claim", claimId);
        v.put("owner", owner);
        v.put("leaseMs", lease.toMillis());
        try {
            return new ProducerRecord<>(topic, jobId, JSON.writeValueAsBytes(v));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A lease this instance holds on one jobId. */
    public final class Claim {
        private final String jobId;
        private final String claimId;
        private final Consumer<Claim> onLost;
        private volatile int partition = -1;
        private volatile long sentNanos;
        /** Broker time the lease ends, per the last acknowledged record. */
        private volatile long expiresAt;
        /** Local time after which this instance no longer trusts its lease. */
        private volatile long trustUntilNanos;
        private volatile boolean lost;
        private volatile boolean released;

        private Claim(String jobId, String claimId, Consumer<Claim> onLost) {
            this.jobId = jobId;
            this.claimId = claimId;
            this.onLost = onLost;
        }

        public String jobId() {
            return jobId;
        }

        public String claimId() {
            return claimId;
        }

        private synchronized void acked(long brokerTs, long sent) {
            expiresAt = brokerTs + lease.toMillis();
            trustUntilNanos = sent + lease.minus(margin).toNanos();
        }

        /** Whether this instance may still act as the job's only executor. */
        public boolean valid() {
            return !lost && !released && System.nanoTime() < trustUntilNanos;
        }

        /** Time the lease is trusted for from now. */
        public Duration remaining() {
            return Duration.ofNanos(Math.max(0, trustUntilNanos - System.nanoTime()));
        }

        /**
         * Makes sure the lease is trusted for at least {@code d} more (renewing
         * now when it is not): a result sent now lands while the lease holds.
         */
        public boolean ensureValidFor(Duration d) {
            if (valid() && remaining().compareTo(d) >= 0) {
                return true;
            }
            renew();
            return valid() && remaining().compareTo(d) >= 0;
        }

        /** Renews synchronously; marks the claim lost when the lease had ended. */
        boolean renew() {
            if (!valid()) {
                return false;
            }
            long sent = System.nanoTime();
            try {
                RecordMetadata md = producer.send(record(jobId, "renew", claimId))
                        .get(Math.max(1, remaining().toMillis()), TimeUnit.MILLISECONDS);
                synchronized (this) {
                    if (md.timestamp() >= expiresAt) {
                        // the broker took it after the lease ended: somebody may hold the job now
                        lose("the renewal landed after the lease ended");
                        return false;
                    }
                    acked(md.timestamp(), sent);
                }
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } catch (Exception e) {
                try (JobLogContext ignored = JobLogContext.of(jobId, null)) {
                    LOG.warn("claim on {}: renewal failed ({}); lease trusted for {} ms more", jobId, e.toString(),
                            remaining().toMillis());
                }
                return false;
            }
        }

        private synchronized void lose(String why) {
            if (lost || released) {
                return;
            }
            lost = true;
            active.remove(this);
            try (JobLogContext ignored = JobLogContext.of(jobId, null)) {
                LOG.warn("claim on job {} lost: {}; stopping it here, it runs again on whoever claims it next", jobId, why);
            }
            if (onLost != null) {
                onLost.accept(this);
            }
        }

        /** Ends the lease (after the result is published, or when the job is given up). */
        public void release() {
            if (released) {
                return;
            }
            released = true;
            active.remove(this);
            if (lost) {
                return;
            }
            producer.send(record(jobId, "release", claimId), (md, e) -> {
                if (e != null) {
                    try (JobLogContext ignored = JobLogContext.of(jobId, null)) {
                        LOG.warn("claim on {}: release not published ({}); it ends with its lease", jobId, e.toString());
                    }
                }
            });
        }

        @Override
        public String toString() {
            return "claim " + claimId + " on " + jobId;
        }
    }

    private void renewAll() {
        for (Claim c : List.copyOf(active)) {
            if (c.valid()) {
                c.renew();
            }
        }
    }

    /** Claims whose lease this instance no longer trusts are lost: their jobs are stopped now. */
    private void fenceExpired() {
        for (Claim c : List.copyOf(active)) {
            if (!c.valid()) {
                c.lose("no renewal acknowledged for " + lease.minus(margin).toMillis() + " ms");
            }
        }
    }

    @Override
    protected void apply(ConsumerRecords<String, byte[]> records) {
        for (ConsumerRecord<String, byte[]> r : records) {
            apply(r);
        }
    }

    @Override
    protected boolean afterPoll() {
        if (System.nanoTime() - lastGc > TimeUnit.SECONDS.toNanos(30)) {
            forgetEnded();
            lastGc = System.nanoTime();
        }
        return true;
    }

    @Override
    protected void caughtUp(long millis) {
        LOG.info("claims: caught up in {} ms; {} job(s) held by some instance", millis, live());
    }

    /** The rule, applied to one record in log order. */
    private void apply(ConsumerRecord<String, byte[]> r) {
        long ts = r.timestamp();
        newestPerPartition.merge(r.partition(), ts, Math::max);
        if (ts > brokerMillis) {
            brokerMillis = ts;
            brokerSeenNanos = System.nanoTime();
        }
        if (r.key() == null || r.value() == null) {
            return;
        }
        JsonNode v;
        try {
            v = JSON.readTree(r.value());
        } catch (Exception e) {
            LOG.warn("claims: unreadable record at {}-{}@{}", r.topic(), r.partition(), r.offset());
            return;
        }
        String op = v.path("op").asText();
        String claimId = v.path("claim").asText();
        String who = v.path("owner").asText();
        long leaseMs = v.path("leaseMs").asLong(lease.toMillis());
        synchronized (holders) {
            Holder h = holders.get(r.key());
            boolean live = h != null && ts < h.expiresAt;
            boolean same = h != null && h.claimId.equals(claimId);
            switch (op) {
                case "claim" -> {
                    if (!live || same) {
                        holders.put(r.key(), new Holder(claimId, who, ts + leaseMs, r.partition()));
                        decide(claimId, r.key(), null);
                    } else {
                        decide(claimId, r.key(), h);
                    }
                }
                case "renew" -> {
                    if (!live || same) {
                        holders.put(r.key(), new Holder(claimId, who, ts + leaseMs, r.partition()));
                    }
                }
                case "release" -> {
                    if (same) {
                        holders.remove(r.key());
                    }
                }
                default -> LOG.warn("claims: unknown op '{}' at {}-{}@{}", op, r.topic(), r.partition(), r.offset());
            }
        }
    }

    private void decide(String claimId, String jobId, Holder against) {
        Claim mine = pending.get(claimId);
        if (mine == null) {
            return; // another instance's claim, or one of ours given up
        }
        decisions.put(claimId, against == null ? new Won(mine) : new Held(jobId, against));
    }

    /**
     * Drops holders whose lease ended more than a lease before the newest
     * record of their partition: no later record of that partition can find
     * them live, so the rule decides the same without them. Memory follows the
     * jobs running, not the jobs ever run.
     */
    private void forgetEnded() {
        synchronized (holders) {
            holders.values().removeIf(h -> h.expiresAt < newestPerPartition.getOrDefault(h.partition, 0L) - lease.toMillis());
        }
    }

    private int live() {
        long now = brokerNow();
        synchronized (holders) {
            return (int) holders.values().stream().filter(h -> h.expiresAt > now).count();
        }
    }

    @Override
    public void close() throws InterruptedException {
        renewer.shutdownNow();
        fencer.shutdownNow();
        super.close();
    }
}
