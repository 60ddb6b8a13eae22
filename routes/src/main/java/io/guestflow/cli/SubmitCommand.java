package io.guestflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.engine.Engine;
import io.guestflow.engine.EngineConfig;
import io.guestflow.engine.Lifecycle;
import io.guestflow.kafka.Partitions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code guestflow submit}: produce one job; with --wait, follow it to its result. */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = {"Produce a job to the jobs topic. With --wait, print its progress from the log topic,",
            "then its result, and exit 0 (SUCCEEDED), 1 (FAILED) or 3 (REJECTED)."})
public final class SubmitCommand implements Callable<Integer> {
    @Mixin
    EngineOptions options = new EngineOptions();

    @Option(names = {"-t", "--type"}, required = true, description = "Job type (inspect, ...).")
    String type;

    @Option(names = {"-d", "--disk"}, required = true, paramLabel = "URI",
            description = "A disk of the guest (repeat for several); a path under the engine's image root, or a URI.")
    List<String> disks;

    @Option(names = "--format", description = "Format of every disk (raw, qcow2, ...); detected when omitted.")
    String format;

    @Option(names = {"-o", "--output"}, paramLabel = "PATH", description = "Output image, for operations that write one.")
    String output;

    @Option(names = "--overwrite", description = "Let the job replace an existing --output (it keeps its mode).")
    boolean overwrite;

    @Option(names = "--option", paramLabel = "KEY=VALUE",
            description = "An operation option; JSON values (true, 3, [..]) are typed, anything else is a string.")
    Map<String, String> jobOptions = new LinkedHashMap<>();

    @Option(names = "--label", paramLabel = "KEY=VALUE", description = "A label copied to the result.")
    Map<String, String> labels = new LinkedHashMap<>();

    @Option(names = "--job-id", description = "Job id (the idempotency key). Default: a random UUID.")
    String jobId;

    @Option(names = "--timeout", description = "timeoutSeconds of the job. Default: the engine's (1800).")
    Integer timeoutSeconds;

    @Option(names = "--debug", description = "Ask for appliance debug messages and the call trace as events.")
    boolean debug;

    @Option(names = "--rerun", description = "Run the job again although its jobId has a result, when that result is"
            + " REJECTED or a retryable FAILED (with --job-id). A SUCCEEDED job never runs again.")
    boolean rerun;

    @Option(names = "--key", paramLabel = "ID:file:PATH", converter = KeyOptions.Converter.class,
            description = "A LUKS key by reference, as the virt tools' --key: the job names PATH, which the engine reads"
                    + " under its guestflow.engine.secrets-dir (relative to it, or absolute inside it); this command"
                    + " never reads the file. ID: /dev/sda2, /dev/VG/LV, a LUKS UUID, or all. ID:key:STRING is refused.")
    List<io.guestflow.processors.job.Job.Key> keys = new ArrayList<>();

    @Option(names = "--wait", description = "Follow the job: progress on stderr, the result on stdout.")
    boolean waitForResult;

    @Option(names = "--each-disk", description = "One job per --disk (one-disk guests), produced together so that"
            + " inspect jobs can share appliances, and spread evenly over the jobs topic's partitions (so over the"
            + " engines' consumers); prints the job ids (JOB-ID-1, -2, ... with --job-id). Not with --wait.")
    boolean eachDisk;

    @Override
    public Integer call() throws Exception {
        EngineConfig cfg = options.engineConfig();
        String bootstrap = options.clientBootstrap(cfg);
        ObjectMapper json = Engine.json();
        if (eachDisk) {
            if (waitForResult) {
                System.err.println("guestflow: --each-disk and --wait cannot be combined (follow the results with 'tail results')");
                return ExitCodes.USAGE;
            }
            return submitEach(cfg, bootstrap, json);
        }
        String id = jobId != null ? jobId : UUID.randomUUID().toString();
        ObjectNode job = buildJob(json, id, disks);
        Map<String, Object> props = new LinkedHashMap<>(Engine.clientProps(cfg));
        props.put("bootstrap.servers", bootstrap);

        KafkaConsumer<String, byte[]> follower = null;
        if (waitForResult) {
            follower = follower(props, cfg, rerun);
        }
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(cfg.topics().jobs(), id, json.writeValueAsBytes(job))).get();
        }
        System.err.println("submitted job " + id + " (" + type + ") to " + cfg.topics().jobs());
        if (!waitForResult) {
            System.out.println(id);
            return ExitCodes.OK;
        }
        try (KafkaConsumer<String, byte[]> c = follower) {
            return follow(c, cfg, id, json, timeoutSeconds == null ? 1800 : timeoutSeconds, rerun);
        }
    }

    /**
     * One job per disk, all sent before any is awaited, so that they reach the
     * engine together; spread over the partitions in turn rather than by key,
     * so that each consumer (one appliance each) gets an equal share instead of
     * what the key hash gives it (8 and 4 of 12 is common).
     */
    private int submitEach(EngineConfig cfg, String bootstrap, ObjectMapper json) throws Exception {
        Map<String, Object> props = new LinkedHashMap<>(Engine.clientProps(cfg));
        props.put("bootstrap.servers", bootstrap);
        List<String> ids = new ArrayList<>();
        List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
            int partitions = producer.partitionsFor(cfg.topics().jobs()).size();
            int first = java.util.concurrent.ThreadLocalRandom.current().nextInt(partitions);
            for (int i = 0; i < disks.size(); i++) {
                String id = jobId != null ? jobId + "-" + (i + 1) : UUID.randomUUID().toString();
                ids.add(id);
                sent.add(producer.send(new ProducerRecord<>(cfg.topics().jobs(), (first + i) % partitions, id,
                        json.writeValueAsBytes(buildJob(json, id, List.of(disks.get(i)))))));
            }
            producer.flush();
            for (java.util.concurrent.Future<?> f : sent) {
                f.get();
            }
        }
        System.err.println("submitted " + ids.size() + " " + type + " jobs to " + cfg.topics().jobs());
        ids.forEach(System.out::println);
        return ExitCodes.OK;
    }

    private ObjectNode buildJob(ObjectMapper json, String id, List<String> jobDisks) {
        ObjectNode job = json.createObjectNode();
        job.put("jobId", id);
        job.put("type", type);
        ArrayNode ds = job.putArray("disks");
        for (String d : jobDisks) {
            ObjectNode disk = ds.addObject().put("uri", absolute(d));
            if (format != null) {
                disk.put("format", format);
            }
        }
        if (output != null) {
            ObjectNode out = job.putObject("output").put("uri", absolute(output));
            if (overwrite) {
                out.put("overwrite", true);
            }
        }
        if (!jobOptions.isEmpty()) {
            ObjectNode o = job.putObject("options");
            jobOptions.forEach((k, v) -> o.set(k, typed(json, v)));
        }
        if (!labels.isEmpty()) {
            ObjectNode l = job.putObject("labels");
            labels.forEach(l::put);
        }
        if (timeoutSeconds != null) {
            job.put("timeoutSeconds", timeoutSeconds);
        }
        if (debug) {
            job.put("debug", true);
        }
        if (rerun) {
            job.put("rerun", true);
        }
        if (!keys.isEmpty()) {
            // the path as given: it is the engine's, under its secrets dir; never read here
            ArrayNode ks = job.putArray("keys");
            keys.forEach(k -> ks.addObject().put("device", k.device()).put("file", k.file()));
        }
        return job;
    }

    /** Plain paths are the submitter's: make them absolute before they travel to an engine with another cwd. */
    private static String absolute(String uriOrPath) {
        return uriOrPath.contains("://") ? uriOrPath : java.nio.file.Path.of(uriOrPath).toAbsolutePath().normalize().toString();
    }

    private static JsonNode typed(ObjectMapper json, String v) {
        try {
            return json.readTree(v);
        } catch (Exception e) {
            return json.getNodeFactory().textNode(v);
        }
    }

    /**
     * Assigned before the job is produced: the log from its end, the (compacted) results from the start
     * (from the end for a rerun: the result it replaces is already there).
     */
    private static KafkaConsumer<String, byte[]> follower(Map<String, Object> props, EngineConfig cfg, boolean rerun) {
        Properties p = new Properties();
        p.putAll(props);
        p.put("enable.auto.commit", "false");
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> log = Partitions.of(c, cfg.topics().log());
        List<TopicPartition> results = Partitions.of(c, cfg.topics().results());
        List<TopicPartition> all = new ArrayList<>(log);
        all.addAll(results);
        c.assign(all);
        c.seekToEnd(log);
        log.forEach(c::position);
        if (rerun) {
            c.seekToEnd(results);
            results.forEach(c::position);
        } else {
            c.seekToBeginning(results);
        }
        return c;
    }

    private static int follow(KafkaConsumer<String, byte[]> c, EngineConfig cfg, String id, ObjectMapper json,
                              int timeoutSeconds, boolean rerun) throws Exception {
        long deadline = System.currentTimeMillis() + (timeoutSeconds + 900L) * 1000;
        // a console means a person watching: a bar redrawn in place; else (a pipe, a log file) plain lines
        ProgressDisplay display = new ProgressDisplay(System.err, System.console() != null);
        while (System.currentTimeMillis() < deadline) {
            for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                if (!id.equals(r.key())) {
                    continue;
                }
                JsonNode v = json.readTree(r.value());
                if (r.topic().equals(cfg.topics().log())) {
                    display.event(v);
                    // a rerun follows the results from now on: a refused rerun would otherwise wait forever
                    if (rerun && v.path("type").asText().equals(Lifecycle.SKIPPED.type())) {
                        display.done();
                        System.err.println("guestflow: job " + id + " not run: " + v.path("data").path("reason").asText());
                        return ExitCodes.FAILED;
                    }
                } else if (r.topic().equals(cfg.topics().results())) {
                    display.done();
                    System.out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(v));
                    return switch (v.path("status").asText()) {
                        case "SUCCEEDED" -> ExitCodes.OK;
                        case "REJECTED" -> ExitCodes.BAD_INPUT;
                        default -> v.path("error").path("code").asText().equals("TIMEOUT") ? ExitCodes.TIMEOUT : ExitCodes.FAILED;
                    };
                }
            }
        }
        display.done();
        System.err.println("guestflow: no result for job " + id + " in time");
        return ExitCodes.FAILED;
    }
}
