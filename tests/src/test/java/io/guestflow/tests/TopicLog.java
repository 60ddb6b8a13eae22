package io.guestflow.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.kafka.Partitions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Every record of some topics from their beginning, read as they come, with lookups by topic and key. */
final class TopicLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final KafkaConsumer<String, byte[]> consumer;
    private final List<ConsumerRecord<String, byte[]>> seen = new ArrayList<>();

    TopicLog(Map<String, Object> clientProps, String... topics) {
        Properties p = new Properties();
        p.putAll(clientProps);
        p.put("enable.auto.commit", "false");
        consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = new ArrayList<>();
        for (String t : topics) {
            parts.addAll(Partitions.of(consumer, t));
        }
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
    }

    /** Reads what arrived (waits up to 200 ms for something). */
    void poll() {
        consumer.poll(Duration.ofMillis(200)).forEach(seen::add);
    }

    /** Reads until {@code done} holds; fails after {@code timeout}. */
    void await(Duration timeout, String what, BooleanSupplier done) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            poll();
        }
    }

    /** Reads whatever arrives during {@code d}. */
    void drain(Duration d) {
        long until = System.nanoTime() + d.toNanos();
        while (System.nanoTime() < until) {
            poll();
        }
    }

    List<ConsumerRecord<String, byte[]>> records(String topic) {
        return seen.stream().filter(r -> r.topic().equals(topic)).toList();
    }

    List<JsonNode> values(String topic, String key) {
        List<JsonNode> out = new ArrayList<>();
        for (ConsumerRecord<String, byte[]> r : seen) {
            if (r.topic().equals(topic) && key.equals(r.key()) && r.value() != null) {
                out.add(json(r.value()));
            }
        }
        return out;
    }

    /** The lifecycle events ({@code io.guestflow.job.TYPE}) of {@code jobId} on the log topic. */
    List<JsonNode> events(String logTopic, String jobId, String type) {
        return values(logTopic, jobId).stream().filter(e -> e.path("type").asText().equals("io.guestflow.job." + type)).toList();
    }

    static JsonNode json(byte[] b) {
        try {
            return JSON.readTree(b);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
