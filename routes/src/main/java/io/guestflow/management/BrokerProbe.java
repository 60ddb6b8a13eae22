package io.guestflow.management;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the Kafka cluster every few seconds whether it answers, whether the
 * engine's topics exist, and how far the jobs consumer group lags; reports
 * into the "broker" and "topics" readiness checks and the lag gauge. Says
 * once when the cluster stops answering and once when it is back (the Kafka
 * clients' own warnings are rate-limited in log4j2.xml).
 */
public final class BrokerProbe implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BrokerProbe.class);
    private static final long TIMEOUT_MS = 4000;

    private final Admin admin;
    private final String bootstrap;
    private final List<String> topics;
    private final String jobsTopic;
    private final String groupId;
    private final HealthChecks.Check broker;
    private final HealthChecks.Check topicsCheck;
    private final EngineMetrics metrics;
    private final ScheduledExecutorService timer;
    private Instant downSince;

    /**
     * @param clientProps bootstrap servers and the kafka.* pass-through settings
     * @param topics      every topic the engine needs (the first is the jobs topic)
     */
    public BrokerProbe(Map<String, Object> clientProps, List<String> topics, String groupId, HealthChecks checks,
                       EngineMetrics metrics, Duration every) {
        Map<String, Object> p = new HashMap<>(clientProps);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "guestflow-health");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT_MS);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT_MS);
        this.admin = Admin.create(p);
        this.bootstrap = String.valueOf(clientProps.get("bootstrap.servers"));
        this.topics = List.copyOf(topics);
        this.jobsTopic = topics.get(0);
        this.groupId = groupId;
        this.broker = checks.readiness("broker");
        this.topicsCheck = checks.readiness("topics");
        this.metrics = metrics;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "guestflow-broker-probe");
            t.setDaemon(true);
            return t;
        });
        probe();
        timer.scheduleWithFixedDelay(this::probe, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** One round: cluster, topics, lag. Never throws. */
    void probe() {
        try {
            int nodes = admin.describeCluster().nodes().get(TIMEOUT_MS, TimeUnit.MILLISECONDS).size();
            if (nodes == 0) {
                throw new IllegalStateException("the cluster lists no broker");
            }
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                return;
            }
            if (downSince == null) {
                downSince = Instant.now();
                LOG.warn("Kafka cluster at {} does not answer ({}): not ready until it does", bootstrap, reason(e));
            }
            broker.down("Kafka cluster at " + bootstrap + " does not answer since " + downSince + ": " + reason(e));
            return;
        }
        if (downSince != null) {
            LOG.info("Kafka cluster at {} answers again (it did not since {})", bootstrap, downSince);
            downSince = null;
        }
        broker.up("Kafka cluster at " + bootstrap + " answers");
        try {
            Set<String> existing = admin.listTopics().names().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            List<String> missing = topics.stream().filter(t -> !existing.contains(t)).toList();
            if (missing.isEmpty()) {
                topicsCheck.up("topics " + topics + " exist");
            } else {
                topicsCheck.down("missing topics " + missing + " (create them as config/topics.md says)");
            }
            if (existing.contains(jobsTopic)) {
                metrics.consumerLag(lag());
            }
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                return;
            }
            topicsCheck.down("cannot list topics: " + reason(e));
        }
    }

    /** Records of the jobs topic not yet committed by the group, over all partitions. */
    private long lag() throws Exception {
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(groupId)
                .partitionsToOffsetAndMetadata().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        List<TopicPartition> parts = new ArrayList<>();
        admin.describeTopics(List.of(jobsTopic)).allTopicNames().get(TIMEOUT_MS, TimeUnit.MILLISECONDS)
                .get(jobsTopic).partitions().forEach(pi -> parts.add(new TopicPartition(jobsTopic, pi.partition())));
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
        parts.forEach(tp -> {
            latest.put(tp, OffsetSpec.latest());
            earliest.put(tp, OffsetSpec.earliest());
        });
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends = admin.listOffsets(latest).all()
                .get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> starts = admin.listOffsets(earliest).all()
                .get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        long lag = 0;
        for (TopicPartition tp : parts) {
            OffsetAndMetadata c = committed.get(tp);
            long from = c != null ? c.offset() : starts.get(tp).offset();
            lag += Math.max(0, ends.get(tp).offset() - from);
        }
        return lag;
    }

    private static String reason(Throwable e) {
        Throwable t = e;
        while ((t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof java.util.concurrent.TimeoutException) {
            return "no answer within " + TIMEOUT_MS + " ms";
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(TIMEOUT_MS + 1000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        admin.close(Duration.ofSeconds(2));
    }
}
