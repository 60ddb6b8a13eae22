package io.guestflow.kafka;

import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Kafka helpers shared by the engine, the scans and the CLI; it imports none
 * of them, so each can use it without tying the others to itself.
 */
public final class Partitions {
    private Partitions() {
    }

    /** Every partition of {@code topic}, for consumers that assign rather than subscribe. */
    public static List<TopicPartition> of(Consumer<?, ?> consumer, String topic) {
        return consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                .map(pi -> new TopicPartition(topic, pi.partition())).toList();
    }
}
