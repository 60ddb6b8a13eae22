package io.guestflow.engine;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a whole topic from its beginning, then follows it, on a thread of
 * its own, supervised: when its consumer fails or the broker stops answering
 * it says why ({@link #state()}, {@link #reason()}), reconnects with backoff
 * (1 s doubling to 30 s), continues from where it was and must catch up
 * again. Only {@link State#FOLLOWING} means "has read everything published
 * until a moment ago".
 */
public abstract class TopicFollower<K> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TopicFollower.class);
    /** How often a following consumer proves the broker still answers (a consumer does not fail when it goes). */
    private static final Duration LIVENESS_EVERY = Duration.ofSeconds(5);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    /** Where a follower is. */
    public enum State {
        /** Not connected yet. */
        STARTING,
        /** Reading what was published before it started (or before it reconnected). */
        CATCHING_UP,
        /** Caught up and following. */
        FOLLOWING,
        /** Its consumer failed or the broker stopped answering; retrying with backoff. */
        RECONNECTING,
        /** It cannot hold what the topic has (the results index past dedup-index-max-jobs): it reads no more. */
        FULL,
        CLOSED
    }

    private final String name;
    private final Map<String, Object> clientProps;
    private final Map<String, Object> consumerProps;
    private final Deserializer<K> keys;
    protected final String topic;
    /** Per partition, the offset of the next record to read. */
    protected final Map<Integer, Long> positions = new ConcurrentHashMap<>();
    private final Object progress = new Object();
    private final Thread thread;
    private volatile KafkaConsumer<K, byte[]> consumer;
    private volatile State state = State.STARTING;
    private volatile String reason = "not started";
    private volatile boolean running = true;
    private volatile long catchUpMillis = -1;

    /**
     * @param consumerProps consumer settings of this follower (fetch sizes), taken where the client's leave them unset
     */
    TopicFollower(String name, Map<String, Object> clientProps, String topic, Deserializer<K> keys,
                  Map<String, Object> consumerProps) {
        this.name = name;
        this.clientProps = clientProps;
        this.topic = topic;
        this.keys = keys;
        this.consumerProps = consumerProps;
        this.thread = new Thread(this::supervise, "guestflow-" + name.replace(' ', '-'));
        thread.setDaemon(true);
    }

    /** Starts reading; subclasses call it once they are set up. */
    protected final void startFollowing() {
        thread.start();
    }

    /** Applies records read, in order per partition. */
    protected abstract void apply(ConsumerRecords<K, byte[]> records);

    /** After every poll; false stops reading (the state was set to say why). */
    protected boolean afterPoll() {
        return true;
    }

    /** Once caught up (every time: after a reconnect too). */
    protected void caughtUp(long millis) {
    }

    public State state() {
        return state;
    }

    /** What the follower does, or why it does not follow. */
    public String reason() {
        return reason;
    }

    /** Whether everything published until a moment ago has been read. */
    public boolean caughtUp() {
        return state == State.FOLLOWING;
    }

    /** Milliseconds the first catch-up took; -1 until it is done. */
    public long catchUpMillis() {
        return catchUpMillis;
    }

    /** Waits until the follower is caught up and following, at most {@code timeout}. */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (progress) {
            while (state != State.FOLLOWING) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0 || !running) {
                    return state == State.FOLLOWING;
                }
                progress.wait(Math.min(left, 200));
            }
        }
        return true;
    }

    /**
     * Waits until every partition in {@code need} has been read up to (not
     * including) the given offset; false when the follower stops following or
     * the deadline passes first.
     */
    protected boolean awaitPositions(Map<Integer, Long> need, long deadlineNanos) throws InterruptedException {
        synchronized (progress) {
            while (true) {
                if (need.entrySet().stream().allMatch(e -> positions.getOrDefault(e.getKey(), -1L) >= e.getValue())) {
                    return state == State.FOLLOWING;
                }
                long left = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
                if (left <= 0 || state != State.FOLLOWING) {
                    return false;
                }
                progress.wait(Math.min(left, 50));
            }
        }
    }

    protected final void setState(State s, String why) {
        reason = why;
        state = s;
        synchronized (progress) {
            progress.notifyAll();
        }
    }

    private void supervise() {
        Duration backoff = Duration.ofSeconds(1);
        while (running) {
            try {
                follow();
            } catch (WakeupException e) {
                if (!running) {
                    break;
                }
            } catch (Exception e) {
                if (!running) {
                    break;
                }
                setState(State.RECONNECTING, "follower failed: " + e + "; retrying in " + backoff.toSeconds() + " s");
                LOG.warn("{}: {}", name, reason);
            } finally {
                KafkaConsumer<K, byte[]> c = consumer;
                consumer = null;
                if (c != null) {
                    try {
                        c.close(Duration.ofSeconds(2));
                    } catch (Exception ignored) {
                        // already failing
                    }
                }
            }
            if (state == State.FULL) {
                while (running) {
                    sleep(Duration.ofSeconds(1));
                }
                break;
            }
            if (state == State.FOLLOWING) {
                backoff = Duration.ofSeconds(1); // it was fine for a while: start over with a short wait
            }
            sleep(backoff);
            backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
        }
        setState(State.CLOSED, "closed");
    }

    private void follow() {
        Properties p = new Properties();
        p.putAll(clientProps);
        consumerProps.forEach(p::putIfAbsent);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.putIfAbsent(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.putIfAbsent(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        KafkaConsumer<K, byte[]> c = new KafkaConsumer<>(p, keys, new org.apache.kafka.common.serialization.ByteArrayDeserializer());
        consumer = c;
        if (!running) {
            return;
        }
        long started = System.nanoTime();
        List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(15));
        if (infos == null || infos.isEmpty()) {
            throw new IllegalStateException("topic " + topic + " does not exist");
        }
        List<TopicPartition> parts = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
        c.assign(parts);
        for (TopicPartition tp : parts) {
            Long at = positions.get(tp.partition());
            if (at == null) {
                c.seekToBeginning(List.of(tp));
            } else {
                c.seek(tp, at); // a reconnect continues where it was: what was read is still applied
            }
        }
        Map<TopicPartition, Long> end = c.endOffsets(parts, Duration.ofSeconds(15));
        setState(State.CATCHING_UP, "reading " + topic + " up to offset(s) " + end.values());
        long lastLiveness = System.nanoTime();
        while (running) {
            ConsumerRecords<K, byte[]> records = c.poll(Duration.ofMillis(100));
            if (!records.isEmpty()) {
                apply(records);
            }
            for (TopicPartition tp : parts) {
                positions.put(tp.partition(), c.position(tp, Duration.ofSeconds(15)));
            }
            synchronized (progress) {
                progress.notifyAll();
            }
            if (!afterPoll()) {
                return;
            }
            if (state == State.CATCHING_UP && parts.stream().allMatch(tp -> positions.get(tp.partition()) >= end.get(tp))) {
                long ms = (System.nanoTime() - started) / 1_000_000;
                if (catchUpMillis < 0) {
                    catchUpMillis = ms;
                }
                setState(State.FOLLOWING, "following " + topic);
                caughtUp(ms);
            }
            if (System.nanoTime() - lastLiveness > LIVENESS_EVERY.toNanos()) {
                c.endOffsets(parts, Duration.ofSeconds(10));
                lastLiveness = System.nanoTime();
            }
        }
    }

    private void sleep(Duration d) {
        long until = System.nanoTime() + d.toNanos();
        while (running && System.nanoTime() < until) {
            try {
                Thread.sleep(Math.min(100, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        KafkaConsumer<K, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        thread.join(10_000);
        setState(State.CLOSED, "closed");
    }
}
