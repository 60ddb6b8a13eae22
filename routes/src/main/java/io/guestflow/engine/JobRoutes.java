package io.guestflow.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.processors.job.Job;
import io.guestflow.processors.job.JobParser;
import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.processors.job.JobResult;
import io.guestflow.processors.job.PathPolicy;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
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

    public JobRoutes(EngineConfig config, JobParser parser, PathPolicy paths, ResultIndex results, JobRunner runner,
                     EventPublisher events, Producer<String, byte[]> producer, ObjectMapper json) {
        this.config = config;
        this.parser = parser;
        this.paths = paths;
        this.results = results;
        this.runner = runner;
        this.events = events;
        this.producer = producer;
        this.json = json;
    }

    @Override
    public void configure() {
        from(jobsEndpoint()).routeId("guestflow-jobs")
                .process(this::parseAndValidate)
                .choice()
                    .when(exchangeProperty(DEAD_LETTER).isNotNull()).process(this::deadLetter)
                    .when(exchangeProperty(RESULT).isNotNull()).process(this::rejectUnlessDone)
                    .when(this::alreadyDone).process(this::skip)
                    .otherwise().process(this::accept).process(this::runOnPool)
                .end()
                .process(this::publishResult)
                .process(this::commit);
    }

    private String jobsEndpoint() {
        StringBuilder uri = new StringBuilder("kafka:").append(config.topics().jobs())
                .append("?brokers=").append(config.bootstrapServers())
                .append("&groupId=").append(config.groupId())
                .append("&consumersCount=").append(config.effectiveConsumers())
                .append("&maxPollRecords=1")
                .append("&autoCommitEnable=false&allowManualCommit=true&breakOnFirstError=true")
                .append("&autoOffsetReset=earliest")
                .append("&pollTimeoutMs=").append(config.pollTimeout().toMillis())
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
        String reason = ex.getProperty(DEAD_LETTER, String.class);
        byte[] raw = ex.getIn().getBody(byte[].class);
        String key = ex.getIn().getHeader(KafkaConstants.KEY, String.class);
        ProducerRecord<String, byte[]> rec = new ProducerRecord<>(config.topics().dlq(), key, raw == null ? new byte[0] : raw);
        rec.headers().add(new RecordHeader("guestflow.reason", reason.getBytes(StandardCharsets.UTF_8)));
        rec.headers().add(new RecordHeader("guestflow.source", (config.topics().jobs() + "/"
                + ex.getIn().getHeader(KafkaConstants.PARTITION) + "/" + ex.getIn().getHeader(KafkaConstants.OFFSET))
                .getBytes(StandardCharsets.UTF_8)));
        producer.send(rec).get();
        LOG.warn("dead-lettered a message from {}: {}", config.topics().jobs(), reason);
    }

    /** A bad message reusing a jobId that already has a result must not replace that result. */
    private void rejectUnlessDone(Exchange ex) {
        JobResult r = ex.getProperty(RESULT, JobResult.class);
        if (results.hasResult(r.jobId())) {
            ex.removeProperty(RESULT);
            LOG.warn("invalid message for job {}, which already has a result; result kept: {}", r.jobId(), r.error().message());
        }
    }

    private boolean alreadyDone(Exchange ex) {
        return results.hasResult(ex.getIn().getBody(Job.class).jobId());
    }

    private void skip(Exchange ex) {
        Job job = ex.getIn().getBody(Job.class);
        LOG.info("job {} already has a result; not running it again", job.jobId());
        events.lifecycle(job.jobId(), "skipped", Map.of("reason", "a result for this jobId is already published"));
    }

    private void accept(Exchange ex) {
        Job job = ex.getIn().getBody(Job.class);
        events.lifecycle(job.jobId(), "accepted", Map.of("type", job.type(), "disks", job.disks().size(),
                "timeoutSeconds", job.timeoutSeconds()));
    }

    private void runOnPool(Exchange ex) {
        Job job = ex.getIn().getBody(Job.class);
        JobResult r = runner.run(job, ex.getProperty("queuedAt", Instant.class), ex.getProperty("receivedAt", Instant.class));
        ex.setProperty(RESULT, r);
    }

    /** Synchronous: the offset is committed only after this returns. */
    private void publishResult(Exchange ex) throws Exception {
        JobResult r = ex.getProperty(RESULT, JobResult.class);
        if (r == null) {
            return;
        }
        producer.send(new ProducerRecord<>(config.topics().results(), r.jobId(), json.writeValueAsBytes(r))).get();
        results.add(r.jobId());
        switch (r.status()) {
            case SUCCEEDED -> events.lifecycle(r.jobId(), "succeeded", Map.of("attempts", r.attempts()));
            case FAILED -> events.lifecycle(r.jobId(), "failed", Map.of("code", r.error().code(), "message", r.error().message()));
            case REJECTED -> { }
        }
        events.finished(r.jobId());
        LOG.info("job {}: {}", r.jobId(), r.status());
    }

    private void commit(Exchange ex) {
        KafkaManualCommit manual = ex.getIn().getHeader(KafkaConstants.MANUAL_COMMIT, KafkaManualCommit.class);
        if (manual != null) {
            manual.commit();
        }
    }
}
