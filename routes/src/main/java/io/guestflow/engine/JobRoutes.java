package io.guestflow.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.management.EngineMetrics;
import io.guestflow.pool.Secrets;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobParser;
import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.processors.job.JobResult;
import io.guestflow.processors.job.PathPolicy;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.kafka.KafkaConstants;
import org.apache.camel.component.kafka.consumer.KafkaManualCommit;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's flow: jobs topic → parse and validate → path policy → dedup →
 * run on the pool (lease, launch, operation, retries) → publish the result →
 * commit the offset. Nothing is committed before its result is published,
 * so a crash redelivers the job and the dedup step keeps it from running twice.
 *
 * <p>Each consumer takes the jobs of one poll together (up to
 * {@code inspect-batch-size}; one at a time when batching is off): inspect
 * jobs among them share an appliance ({@link InspectBatchRunner}), the others
 * run one after another, each result is published as soon as it exists, and
 * the poll's offsets are committed once all of its results are published.
 */
public final class JobRoutes extends RouteBuilder {
    private static final Logger LOG = LoggerFactory.getLogger(JobRoutes.class);
    static final String JOB = "guestflow.job";
    static final String RESULT = "guestflow.result";
    static final String DEAD_LETTER = "guestflow.deadLetter";

    private final EngineConfig config;
    private final JobParser parser;
    private final PathPolicy paths;
    private final ResultIndex results;
    private final JobRunner runner;
    private final EventPublisher events;
    private final Producer<String, byte[]> producer;
    private final ObjectMapper json;
    private final InspectBatchCollector collector;
    private final InspectBatchRunner batches;
    private final EngineMetrics metrics;

    public JobRoutes(EngineConfig config, JobParser parser, PathPolicy paths, ResultIndex results, JobRunner runner,
                     InspectBatchRunner batches, EventPublisher events, Producer<String, byte[]> producer,
                     ObjectMapper json, EngineMetrics metrics) {
        this.metrics = metrics;
        this.config = config;
        this.parser = parser;
        this.paths = paths;
        this.results = results;
        this.runner = runner;
        this.batches = batches;
        this.events = events;
        this.producer = producer;
        this.json = json;
        this.collector = new InspectBatchCollector(config.inspectBatchSize());
    }

    @Override
    public void configure() {
        from(jobsEndpoint()).routeId("guestflow-jobs").process(this::processPoll);
    }

    /** One poll's records, in order: each is dead-lettered, rejected, skipped or run; then the offsets are committed. */
    private void processPoll(Exchange poll) throws Exception {
        List<Exchange> records = new ArrayList<>();
        for (Object o : poll.getIn().getBody(List.class)) {
            records.add((Exchange) o);
        }
        List<InspectBatchCollector.Queued> accepted = new ArrayList<>();
        Set<String> inThisPoll = new HashSet<>();
        for (Exchange rec : records) {
            parseAndValidate(rec);
            // the lines about this record name its job (a failure leaves them to the error handler's line too)
            JobLogContext logContext = JobLogContext.of(rec.getProperty(JOB, String.class),
                    rec.getIn().getBody() instanceof Job j ? j.type() : null);
            if (rec.getProperty(DEAD_LETTER) != null) {
                deadLetter(rec);
            } else if (rec.getProperty(RESULT) != null) {
                rejectUnlessDone(rec);
                publish(rec.getProperty(RESULT, JobResult.class));
            } else if (alreadyDone(rec)) {
                skip(rec, "a result for this jobId is already published");
            } else if (!inThisPoll.add(rec.getIn().getBody(Job.class).jobId())) {
                skip(rec, "the same jobId came twice in one poll; it runs once");
            } else {
                accept(rec);
                accepted.add(new InspectBatchCollector.Queued(rec.getIn().getBody(Job.class),
                        rec.getProperty("queuedAt", Instant.class), rec.getProperty("receivedAt", Instant.class)));
            }
            logContext.close();
        }
        for (List<InspectBatchCollector.Queued> unit : collector.units(accepted)) {
            if (unit.size() == 1) {
                InspectBatchCollector.Queued q = unit.get(0);
                publish(runner.run(q.job(), q.queuedAt(), q.receivedAt()));
            } else {
                batches.run(unit, this::publish);
            }
        }
        commit(records);
    }

    private String jobsEndpoint() {
        StringBuilder uri = new StringBuilder("kafka:").append(config.topics().jobs())
                .append("?brokers=").append(config.bootstrapServers())
                .append("&groupId=").append(config.groupId())
                .append("&consumersCount=").append(config.effectiveConsumers())
                // batching mode hands the consumer a poll's records together; with a batch size of 1 it is one record
                .append("&batching=true&maxPollRecords=").append(config.inspectBatchSize())
                .append("&autoCommitEnable=false&allowManualCommit=true&breakOnFirstError=true")
                .append("&autoOffsetReset=earliest")
                // a poll's records wait this long for company before they are processed
                .append("&pollTimeoutMs=").append(config.batchingInspections()
                        ? Math.min(config.pollTimeout().toMillis(), config.inspectBatchWait().toMillis())
                        : config.pollTimeout().toMillis())
                .append("&maxPollIntervalMs=").append(config.maxPollIntervalMs())
                .append("&valueDeserializer=org.apache.kafka.common.serialization.ByteArrayDeserializer");
        config.kafka().forEach((k, v) -> uri.append("&additionalProperties.").append(k).append("=RAW(").append(v).append(')'));
        return uri.toString();
    }

    private void parseAndValidate(Exchange ex) {
        byte[] raw = ex.getIn().getBody(byte[].class);
        Instant queuedAt = Instant.ofEpochMilli(ex.getIn().getHeader(KafkaConstants.TIMESTAMP, System.currentTimeMillis(), Long.class));
        ex.setProperty("queuedAt", queuedAt);
        ex.setProperty("receivedAt", Instant.now());
        try {
            Job job = parser.parse(raw);
            ex.setProperty(JOB, job.jobId());
            paths.check(job);
            ex.getIn().setBody(job);
        } catch (JobRejectedException e) {
            if (e.jobId() == null) {
                ex.setProperty(DEAD_LETTER, e.reason());
                return;
            }
            ex.setProperty(JOB, e.jobId());
            events.lifecycle(e.jobId(), "rejected", Map.of("reason", e.reason()));
            ex.setProperty(RESULT, new JobResult(e.jobId(), null, JobResult.Status.REJECTED, null,
                    JobResult.Timings.notRun(queuedAt, ex.getProperty("receivedAt", Instant.class)),
                    null, new JobResult.Error("REJECTED", e.reason(), false), 0, config.instanceId()));
        }
    }

    private void deadLetter(Exchange ex) throws Exception {
        String reason = Secrets.redact(ex.getProperty(DEAD_LETTER, String.class));
        byte[] raw = ex.getIn().getBody(byte[].class);
        String key = ex.getIn().getHeader(KafkaConstants.KEY, String.class);
        ProducerRecord<String, byte[]> rec = new ProducerRecord<>(config.topics().dlq(), key, raw == null ? new byte[0] : raw);
        rec.headers().add(new RecordHeader("guestflow.reason", reason.getBytes(StandardCharsets.UTF_8)));
        rec.headers().add(new RecordHeader("guestflow.source", (config.topics().jobs() + "/"
                + ex.getIn().getHeader(KafkaConstants.PARTITION) + "/" + ex.getIn().getHeader(KafkaConstants.OFFSET))
                .getBytes(StandardCharsets.UTF_8)));
        producer.send(rec).get();
        metrics.deadLettered();
        LOG.warn("dead-lettered a message from {}: {}", config.topics().jobs(), reason);
    }

    /** A bad message reusing a jobId that already has a result must not replace that result. */
    private void rejectUnlessDone(Exchange ex) {
        JobResult r = ex.getProperty(RESULT, JobResult.class);
        if (results.hasResult(r.jobId())) {
            ex.removeProperty(RESULT);
            LOG.warn("invalid message for job {}, which already has a result; result kept: {}", r.jobId(),
                    Secrets.redact(r.error().message()));
        }
    }

    private boolean alreadyDone(Exchange ex) {
        return results.hasResult(ex.getIn().getBody(Job.class).jobId());
    }

    private void skip(Exchange ex, String reason) {
        Job job = ex.getIn().getBody(Job.class);
        metrics.jobSkipped();
        LOG.info("job {} not run again: {}", job.jobId(), reason);
        events.lifecycle(job.jobId(), "skipped", Map.of("reason", reason));
    }

    private void accept(Exchange ex) {
        Job job = ex.getIn().getBody(Job.class);
        events.lifecycle(job.jobId(), "accepted", Map.of("type", job.type(), "disks", job.disks().size(),
                "timeoutSeconds", job.timeoutSeconds()));
    }

    /** Synchronous: the offset is committed only after this returns. */
    private void publish(JobResult r) throws Exception {
        if (r == null) {
            return; // an invalid redelivery of a job that already has its result
        }
        try (JobLogContext ignored = JobLogContext.of(r.jobId(), r.type())) {
            publishLogged(r);
        }
    }

    private void publishLogged(JobResult r) throws Exception {
        // one redaction for every result: URIs' userinfo and queries, passwords (Secrets)
        byte[] value = json.writeValueAsBytes(Secrets.redact((com.fasterxml.jackson.databind.JsonNode) json.valueToTree(r)));
        producer.send(new ProducerRecord<>(config.topics().results(), r.jobId(), value)).get();
        results.add(r.jobId());
        metrics.jobFinished(r);
        switch (r.status()) {
            case SUCCEEDED -> events.lifecycle(r.jobId(), "succeeded", Map.of("attempts", r.attempts()));
            case FAILED -> events.lifecycle(r.jobId(), "failed", Map.of("code", r.error().code(), "message", r.error().message()));
            case REJECTED -> { }
        }
        events.finished(r.jobId());
        LOG.info("job {}: {}", r.jobId(), r.status());
    }

    /** Commits, per partition, the offset after the poll's last record there. */
    private void commit(List<Exchange> records) {
        Map<Object, KafkaManualCommit> lastPerPartition = new LinkedHashMap<>();
        for (Exchange rec : records) {
            KafkaManualCommit manual = rec.getIn().getHeader(KafkaConstants.MANUAL_COMMIT, KafkaManualCommit.class);
            if (manual != null) {
                lastPerPartition.put(rec.getIn().getHeader(KafkaConstants.PARTITION), manual);
            }
        }
        lastPerPartition.values().forEach(KafkaManualCommit::commit);
    }
}
