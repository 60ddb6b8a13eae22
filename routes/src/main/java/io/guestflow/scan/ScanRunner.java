package io.guestflow.scan;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.kafka.Partitions;
import io.guestflow.processors.job.JobParser;
import io.guestflow.processors.job.JobResult;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of a scan: walk the roots, produce a job for every image whose
 * job id has no result yet, wait for the results of all the run's images,
 * then publish the summary and write the report. Used by the Quartz routes
 * of the engine and by {@code guestflow scan}; it needs only Kafka clients.
 */
public final class ScanRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ScanRunner.class);
    static final DateTimeFormatter RUN_ID = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    /** What a run did: where its report is, and its summary. */
    public record Outcome(String runId, List<String> producedJobIds, Path reportDir, ScanReport report) {
    }

    private final Producer<String, byte[]> producer;
    private final Map<String, Object> clientProps;
    private final String jobsTopic;
    private final String resultsTopic;
    private final Path reportsDir;
    private final Predicate<String> hasResult;
    private final String engine;
    private final ObjectMapper json;
    private final Map<String, ReentrantLock> running = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /**
     * @param hasResult whether a job id already has a result (the engine's result index); such jobs are not produced again
     */
    public ScanRunner(Producer<String, byte[]> producer, Map<String, Object> clientProps, String jobsTopic,
                      String resultsTopic, Path reportsDir, Predicate<String> hasResult, String engine, ObjectMapper json) {
        this.producer = producer;
        this.clientProps = clientProps;
        this.jobsTopic = jobsTopic;
        this.resultsTopic = resultsTopic;
        this.reportsDir = reportsDir;
        this.hasResult = hasResult;
        this.engine = engine;
        this.json = json;
    }

    /** The run id of a fire: its scheduled time in UTC, the same on every instance that fires it. */
    public static String runId(Instant scheduled) {
        return RUN_ID.format(scheduled);
    }

    public Outcome run(ScanConfig scan, Instant scheduledAt) throws Exception {
        return run(scan, scheduledAt, true);
    }

    /** With {@code report} false, only produces the jobs (reportDir and report of the outcome are null). */
    public Outcome run(ScanConfig scan, Instant scheduledAt, boolean report) throws Exception {
        // runs of one scan never overlap in this process (a catch-up run and a Quartz fire could)
        ReentrantLock lock = running.computeIfAbsent(scan.name(), n -> new ReentrantLock());
        lock.lock();
        try {
            return runLocked(scan, scheduledAt, report);
        } finally {
            lock.unlock();
        }
    }

    private Outcome runLocked(ScanConfig scan, Instant scheduledAt, boolean reportWanted) throws Exception {
        Instant started = Instant.now();
        String runId = runId(scheduledAt);
        List<ScanImage> images = ImageWalker.walk(scan, runId);
        ScanReport previous = ReportFiles.previous(reportsDir, scan.name(), runId, json);
        // the collector starts before the jobs go out, so no result can slip past it
        try (KafkaConsumer<String, byte[]> collector = collector()) {
            List<String> produced = new ArrayList<>();
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (ScanImage img : images) {
                if (hasResult.test(img.jobId())) {
                    continue;
                }
                sent.add(producer.send(new ProducerRecord<>(jobsTopic, img.jobId(), json.writeValueAsBytes(job(scan, img)))));
                produced.add(img.jobId());
            }
            for (Future<RecordMetadata> f : sent) {
                f.get();
            }
            LOG.info("scan {} run {}: {} image(s), {} new job(s)", scan.name(), runId, images.size(), produced.size());
            if (!reportWanted) {
                return new Outcome(runId, produced, null, null);
            }
            Map<String, JobResult> results = collect(collector, images, scan.resultTimeout());
            ScanReport report = ScanReport.build(scan, runId, scheduledAt, started, engine, images, produced.size(),
                    results, previous);
            Path dir = ReportFiles.write(reportsDir, report, json);
            producer.send(new ProducerRecord<>(resultsTopic, summaryKey(scan.name(), runId),
                    json.writeValueAsBytes(report.summary()))).get();
            ScanReport.Summary s = report.summary();
            LOG.info("scan {} run {}: {} image(s): {} new, {} changed, {} unchanged, {} failed, {} without result; report {}",
                    scan.name(), runId, s.imagesFound(), s.newImages(), s.changed(), s.unchanged(), s.failed(), s.noResult(), dir);
            return new Outcome(runId, produced, dir, report);
        }
    }

    /** Stops runs waiting for results (engine shutdown); they end without a report. */
    public void close() {
        closed = true;
    }

    public static String summaryKey(String scan, String runId) {
        return JobParser.RESERVED_ID_PREFIX + scan + ":" + runId;
    }

    ObjectNode job(ScanConfig scan, ScanImage img) {
        ObjectNode job = json.createObjectNode();
        job.put("jobId", img.jobId());
        job.put("type", scan.type());
        job.putArray("disks").addObject().put("uri", img.path());
        if (!scan.options().isEmpty()) {
            job.set("options", scan.options().deepCopy());
        }
        job.put("timeoutSeconds", scan.timeoutSeconds());
        job.putObject("labels").put("scan", scan.name()).put("image", img.path()).put("fingerprint", img.fingerprint());
        return job;
    }

    private KafkaConsumer<String, byte[]> collector() {
        Properties p = new Properties();
        p.putAll(clientProps);
        p.put("enable.auto.commit", "false");
        p.put("auto.offset.reset", "earliest");
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = Partitions.of(c, resultsTopic);
        c.assign(parts);
        // compacted: from the beginning it holds the latest result of every job, earlier runs' included
        c.seekToBeginning(parts);
        return c;
    }

    /** Reads results-topic records; a result written by a newer engine may carry fields this one does not know. */
    static ObjectReader resultReader(ObjectMapper json) {
        return json.readerFor(JobResult.class).without(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }

    private Map<String, JobResult> collect(KafkaConsumer<String, byte[]> c, List<ScanImage> images, Duration timeout) {
        Set<String> wanted = new HashSet<>();
        images.forEach(i -> wanted.add(i.jobId()));
        Map<String, JobResult> got = new HashMap<>();
        ObjectReader results = resultReader(json);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (got.size() < wanted.size() && System.nanoTime() < deadline) {
            if (closed) {
                // the engine stops: no report from half the results; the next start catches the run up
                throw new java.util.concurrent.CancellationException("engine stopping");
            }
            for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(300))) {
                if (r.value() != null && wanted.contains(r.key())) {
                    try {
                        got.put(r.key(), results.readValue(r.value()));
                    } catch (java.io.IOException e) {
                        LOG.warn("unreadable result for {}: {}", r.key(), e.getMessage());
                    }
                }
            }
        }
        return got;
    }
}
