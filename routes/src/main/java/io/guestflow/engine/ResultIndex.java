package io.guestflow.engine;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The jobIds that already have a result: read from the (compacted) results
 * topic from the beginning, then followed, so that results published by
 * other engine instances count too. A redelivered job whose id is here is
 * not run again.
 */
public final class ResultIndex implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ResultIndex.class);

    private final Set<String> done = ConcurrentHashMap.newKeySet();
    private final KafkaConsumer<String, byte[]> consumer;
    private final Thread thread;
    private final CountDownLatch caughtUp = new CountDownLatch(1);
    private volatile boolean running = true;
    private volatile String stoppedBecause;

    public ResultIndex(Map<String, Object> clientProps, String topic) {
        Properties p = new Properties();
        p.putAll(clientProps);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        thread = new Thread(() -> follow(topic), "guestflow-result-index");
        thread.setDaemon(true);
        thread.start();
    }

    private void follow(String topic) {
        try {
            List<TopicPartition> parts = Engine.partitions(consumer, topic);
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            while (running) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.key() != null && r.value() != null) {
                        done.add(r.key());
                    }
                }
                if (caughtUp.getCount() > 0 && parts.stream().allMatch(tp -> consumer.position(tp) >= end.get(tp))) {
                    LOG.info("result index: {} job(s) already have a result", done.size());
                    caughtUp.countDown();
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (Exception e) {
            stoppedBecause = e.toString();
            LOG.error("result index stopped: {}", e.toString());
        } finally {
            caughtUp.countDown();
            consumer.close(Duration.ofSeconds(2));
        }
    }

    /** Waits until the topic's existing results are read. */
    public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
        return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Whether the existing results are read and the index still follows the topic. */
    public boolean caughtUp() {
        return caughtUp.getCount() == 0 && stoppedBecause == null;
    }

    /** Why the index stopped following the topic, or null. */
    public String stoppedBecause() {
        return stoppedBecause;
    }

    /** JobIds known to have a result. */
    public int size() {
        return done.size();
    }

    public boolean hasResult(String jobId) {
        return done.contains(jobId);
    }

    /** Records a result this engine just published (before the follower sees it). */
    public void add(String jobId) {
        done.add(jobId);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        consumer.wakeup();
        thread.join(5000);
    }
}
