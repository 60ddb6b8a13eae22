package io.guestflow.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.pool.ErrorCode;
import io.guestflow.pool.GuestflowException;
import io.guestflow.processors.journal.JournalSink;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * A journal job's records to the journal topic, keyed by jobId (so one
 * partition, in journal order, through the engine's idempotent producer). A
 * retried attempt publishes again from {@code seq} 0, so consumers keep the
 * records of the highest-numbered run of a job (or dedupe on jobId + seq). At
 * most {@link #MAX_IN_FLIGHT} records are unacknowledged: the export waits
 * for the broker rather than piling entries up in memory.
 */
final class KafkaJournalSink implements JournalSink {
    static final int MAX_IN_FLIGHT = 2048;
    /** How long {@link #complete()} waits for the last acknowledgements. */
    private static final long COMPLETE_TIMEOUT_SECONDS = 120;

    private final Producer<String, byte[]> producer;
    private final String topic;
    private final String jobId;
    private final ObjectMapper json;
    private final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
    private final AtomicReference<Exception> failure = new AtomicReference<>();

    private final io.guestflow.management.EngineMetrics metrics;

    KafkaJournalSink(Producer<String, byte[]> producer, String topic, String jobId, ObjectMapper json,
                     io.guestflow.management.EngineMetrics metrics) {
        this.metrics = metrics;
        this.producer = producer;
        this.topic = topic;
        this.jobId = jobId;
        this.json = json;
    }

    @Override
    public void accept(ObjectNode record) throws Exception {
        throwIfFailed();
        byte[] bytes = json.writeValueAsBytes(record);
        inFlight.acquire();
        try {
            producer.send(new ProducerRecord<>(topic, jobId, bytes), (md, ex) -> {
                if (ex != null) {
                    failure.compareAndSet(null, ex);
                } else {
                    metrics.journalRecordPublished();
                }
                inFlight.release();
            });
        } catch (RuntimeException e) {
            inFlight.release();
            throw e;
        }
    }

    @Override
    public void complete() throws Exception {
        producer.flush();
        if (!inFlight.tryAcquire(MAX_IN_FLIGHT, COMPLETE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "journal topic " + topic
                    + " did not acknowledge the last entries of job " + jobId + " in " + COMPLETE_TIMEOUT_SECONDS + " s");
        }
        inFlight.release(MAX_IN_FLIGHT);
        throwIfFailed();
    }

    private void throwIfFailed() {
        Exception e = failure.get();
        if (e != null) {
            throw new GuestflowException(ErrorCode.OPERATION_FAILED, "cannot publish journal entries of job " + jobId
                    + " to " + topic + ": " + e.getMessage());
        }
    }
}
