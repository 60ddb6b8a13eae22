package io.guestflow.engine;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outcome of every jobId that has a result: read from the (compacted)
 * results topic from its beginning, then followed ({@link TopicFollower}:
 * supervised, reconnecting, with a state), so that results published by
 * other engine instances count too. Kept in a {@link JobIdTable} (17 bytes
 * a slot, 25-36 MB per million ids), bounded by {@code dedup-index-max-jobs}:
 * past it the index is {@link State#FULL} and no job may run.
 *
 * <p>Only {@link State#FOLLOWING} is fit for deciding whether a job runs;
 * {@link #sync(Duration)} additionally proves, right before a decision, that
 * every result published until now has been read.
 */
public final class ResultIndex extends TopicFollower<byte[]> {
    private static final Logger LOG = LoggerFactory.getLogger(ResultIndex.class);
    private static final JsonFactory JSON = new JsonFactory();
    /** Header of results written by this engine: the status, so the index need not parse the value. */
    public static final String STATUS_HEADER = "guestflow.status";
    public static final String RETRYABLE_HEADER = "guestflow.retryable";

    /** What a jobId's last result says. */
    public enum Outcome {
        NONE, SUCCEEDED, FAILED_RETRYABLE, FAILED, REJECTED,
        /** A record that is not a job result (a scan summary). */
        OTHER;

        static Outcome of(byte b) {
            return values()[b];
        }

        byte code() {
            return (byte) ordinal();
        }

        /** Outcome of a result's status and error.retryable. */
        public static Outcome of(String status, boolean retryable) {
            return switch (status == null ? "" : status) {
                case "SUCCEEDED" -> SUCCEEDED;
                case "FAILED" -> retryable ? FAILED_RETRYABLE : FAILED;
                case "REJECTED" -> REJECTED;
                default -> OTHER;
            };
        }
    }

    private final long maxJobs;
    private final JobIdTable table = new JobIdTable(1024);
    private final Admin admin;
    private volatile long recordsRead;

    /**
     * @param maxJobs the most job ids the index holds; past it the index is {@link State#FULL}
     */
    public ResultIndex(Map<String, Object> clientProps, String topic, long maxJobs) {
        // catch-up reads big batches; one follower per engine
        super("result index", clientProps, topic, new ByteArrayDeserializer(), Map.of(
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000",
                ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(64 * 1024 * 1024),
                ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(16 * 1024 * 1024)));
        this.maxJobs = maxJobs;
        Map<String, Object> ap = new HashMap<>(clientProps);
        ap.putIfAbsent("request.timeout.ms", 10_000);
        ap.putIfAbsent("default.api.timeout.ms", 15_000);
        this.admin = Admin.create(ap);
        startFollowing();
    }

    /** Job ids (and other keys) with a result. */
    public synchronized int size() {
        return table.size();
    }

    /** Bytes the index's table holds. */
    public synchronized long memoryBytes() {
        return table.memoryBytes();
    }

    public long recordsRead() {
        return recordsRead;
    }

    /**
     * Proves the index has read every result published until now: asks the
     * broker for the topic's end offsets and waits until the follower has
     * read that far. False when the index is not following, the broker does
     * not answer, or the follower does not get there within {@code timeout}.
     */
    public boolean sync(Duration timeout) throws InterruptedException {
        if (!caughtUp()) {
            return false;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<Integer, Long> need = new HashMap<>();
        try {
            Map<TopicPartition, OffsetSpec> ask = positions.keySet().stream()
                    .collect(Collectors.toMap(p -> new TopicPartition(topic, p), p -> OffsetSpec.latest()));
            admin.listOffsets(ask).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                    .forEach((tp, info) -> need.put(tp.partition(), info.offset()));
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            LOG.warn("result index: cannot read the end offsets of {}: {}", topic, e.toString());
            return false;
        }
        return awaitPositions(need, deadline);
    }

    public boolean hasResult(String jobId) {
        return outcome(jobId) != Outcome.NONE;
    }

    public Outcome outcome(String jobId) {
        long[] k = JobIdTable.key(jobId);
        synchronized (this) {
            return Outcome.of(table.get(k));
        }
    }

    /** Records a result this engine just published (before the follower sees it). */
    public void record(String jobId, Outcome outcome) {
        long[] k = JobIdTable.key(jobId);
        synchronized (this) {
            table.put(k, outcome.code());
        }
    }

    @Override
    protected void apply(ConsumerRecords<byte[], byte[]> records) {
        synchronized (this) {
            for (ConsumerRecord<byte[], byte[]> r : records) {
                recordsRead++;
                if (r.key() == null) {
                    continue;
                }
                long[] k = JobIdTable.key(r.key());
                if (r.value() == null) {
                    table.remove(k); // a tombstone: the result was deleted
                } else {
                    table.put(k, outcomeOf(r.headers(), r.value()).code());
                }
            }
        }
    }

    @Override
    protected boolean afterPoll() {
        if (size() > maxJobs) {
            setState(State.FULL, "the results topic holds more than " + maxJobs + " job ids"
                    + " (guestflow.engine.dedup-index-max-jobs); raise it (about 36 MB of heap per million)");
            LOG.error("result index: {}; no job is taken until it is raised", reason());
            return false;
        }
        return true;
    }

    @Override
    protected void caughtUp(long millis) {
        setState(State.FOLLOWING, "following " + topic + ": " + size() + " job id(s) with a result");
        LOG.info("result index: caught up in {} ms; {} job(s) already have a result", millis, size());
    }
    /** The outcome a result record says: its headers when it has them, else the start of its JSON. */
    static Outcome outcomeOf(Headers headers, byte[] value) {
        Header s = headers.lastHeader(STATUS_HEADER);
        if (s != null) {
            Header r = headers.lastHeader(RETRYABLE_HEADER);
            return Outcome.of(new String(s.value(), StandardCharsets.UTF_8),
                    r != null && "true".equals(new String(r.value(), StandardCharsets.UTF_8)));
        }
        String status = null;
        boolean retryable = false;
        try (JsonParser p = JSON.createParser(value)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return Outcome.OTHER;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String f = p.currentName();
                JsonToken t = p.nextToken();
                if (f.equals("status") && t == JsonToken.VALUE_STRING) {
                    status = p.getText();
                    if (!status.equals("FAILED")) {
                        break; // only a failure needs error.retryable
                    }
                } else if (f.equals("kind")) {
                    return Outcome.OTHER;
                } else if (f.equals("error") && t == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String ef = p.currentName();
                        JsonToken et = p.nextToken();
                        if (ef.equals("retryable")) {
                            retryable = et == JsonToken.VALUE_TRUE;
                        } else {
                            p.skipChildren();
                        }
                    }
                } else {
                    p.skipChildren();
                }
            }
        } catch (Exception e) {
            return status == null ? Outcome.OTHER : Outcome.of(status, retryable);
        }
        return Outcome.of(status, retryable);
    }

    @Override
    public void close() throws InterruptedException {
        super.close();
        admin.close(Duration.ofSeconds(2));
    }
}
