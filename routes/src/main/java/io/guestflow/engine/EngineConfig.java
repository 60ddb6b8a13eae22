package io.guestflow.engine;

import io.guestflow.pool.PoolConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Typed settings of the engine ({@code guestflow.*} in
 * {@code config/application.properties}); every key can be overridden by
 * its environment variable ({@code guestflow.engine.group-id} →
 * {@code GUESTFLOW_ENGINE_GROUP_ID}). Keys under {@code kafka.} pass through
 * to every Kafka client unchanged (SASL, TLS, ...).
 *
 * @param bootstrapServers empty: start the embedded single-node broker
 * @param dataDir          the embedded broker's storage
 * @param consumers        jobs processed at once (default: the pool's capacity)
 * @param maxAttempts      runs of one job when its appliance fails to launch or crashes
 * @param retryBackoff     wait before the first retry; doubles each time
 * @param maxJobTimeout    the longest timeoutSeconds a job may ask; longer ones are REJECTED
 * @param sysprepHostScripts whether sysprep jobs may run their {@code scripts} on this host (off: rejected)
 * @param inspectBatchSize  most inspect jobs inspected on one shared appliance; 1: batching off
 * @param inspectBatchWait  with batching on, how long a consumer waits for more jobs to join the ones it has
 * @param claimLease        how long a claim on a jobId lasts without renewal (renewed every quarter of it);
 *                          a killed instance's job runs elsewhere after about this long
 * @param startupTimeout    how long start-up retries reaching the broker, its topics and the caught-up
 *                          results index before it gives up; zero: forever
 * @param groupProtocol     {@code classic} (cooperative-sticky assignment; every broker) or {@code consumer} (KIP-848)
 * @param maxPollInterval   max.poll.interval.ms of the jobs consumer: jobs run outside the poll loop, so minutes
 * @param dedupIndexMaxJobs the most job ids the results index holds (about 36 MB of heap per million)
 */
public record EngineConfig(String bootstrapServers, String groupId, Topics topics, int consumers, int maxAttempts,
                           Duration retryBackoff, Duration maxJobTimeout, Path imageRoot, Path outputRoot,
                           Path dataDir, int jobPartitions, Duration pollTimeout, String instanceId,
                           Map<String, String> kafka, PoolConfig pool, boolean sysprepHostScripts,
                           int inspectBatchSize, Duration inspectBatchWait, Duration claimLease,
                           Duration startupTimeout, String groupProtocol, Duration maxPollInterval,
                           long dedupIndexMaxJobs) {

    public EngineConfig {
        if (inspectBatchSize < 1) {
            throw new IllegalArgumentException(PREFIX + "inspect-batch-size must be 1 (off) or more, got " + inspectBatchSize);
        }
        if (claimLease.toMillis() < 1000) {
            throw new IllegalArgumentException(PREFIX + "claim-lease-ms must be at least 1000, got " + claimLease.toMillis());
        }
        if (!groupProtocol.equals("classic") && !groupProtocol.equals("consumer")) {
            throw new IllegalArgumentException(PREFIX + "group-protocol must be classic or consumer, got " + groupProtocol);
        }
        if (maxPollInterval.toMillis() < 10_000) {
            throw new IllegalArgumentException(PREFIX + "max-poll-interval-ms must be at least 10000, got "
                    + maxPollInterval.toMillis());
        }
        if (dedupIndexMaxJobs < 1) {
            throw new IllegalArgumentException(PREFIX + "dedup-index-max-jobs must be positive, got " + dedupIndexMaxJobs);
        }
    }

    /** Topic names. {@code claims}: who runs which jobId now (leases; see ClaimLedger). */
    public record Topics(String jobs, String results, String log, String journal, String dlq, String claims) {
    }

    public static final String PREFIX = "guestflow.engine.";

    public boolean embedded() {
        return bootstrapServers == null || bootstrapServers.isBlank();
    }

    public boolean batchingInspections() {
        return inspectBatchSize > 1;
    }

    public int effectiveConsumers() {
        return consumers > 0 ? consumers : pool.effectiveMaxAppliances();
    }

    public static EngineConfig from(Map<String, String> props, Map<String, String> env) {
        Map<String, String> all = new LinkedHashMap<>(props);
        // environment wins over the file
        for (String key : Map.copyOf(all).keySet()) {
            String v = env.get(envName(key));
            if (v != null) {
                all.put(key, v);
            }
        }
        String[] known = {"bootstrap-servers", "group-id", "topic.jobs", "topic.results", "topic.log", "topic.journal",
            "topic.dlq", "consumers", "max-attempts", "retry-backoff-ms", "max-job-timeout-seconds", "image-root",
            "output-root", "data-dir", "job-partitions", "poll-timeout-ms", "instance-id", "sysprep-host-scripts",
            "inspect-batch-size", "inspect-batch-wait-ms", "topic.claims", "claim-lease-ms", "startup-timeout-seconds",
            "group-protocol", "max-poll-interval-ms", "dedup-index-max-jobs"};
        for (String k : known) {
            String v = env.get(envName(PREFIX + k));
            if (v != null) {
                all.put(PREFIX + k, v);
            }
        }
        Map<String, String> kafka = new LinkedHashMap<>();
        all.forEach((k, v) -> {
            if (k.startsWith("kafka.") && v != null && !v.isBlank()) {
                kafka.put(k.substring("kafka.".length()), v);
            }
        });
        Path home = Path.of(System.getProperty("user.home"), ".guestflow");
        try {
            return new EngineConfig(
                    str(all, "bootstrap-servers", ""),
                    str(all, "group-id", "guestflow"),
                    new Topics(str(all, "topic.jobs", "guestflow.jobs"), str(all, "topic.results", "guestflow.results"),
                            str(all, "topic.log", "guestflow.log"), str(all, "topic.journal", "guestflow.journal"),
                            str(all, "topic.dlq", "guestflow.jobs.dlq"), str(all, "topic.claims", "guestflow.claims")),
                    Integer.parseInt(str(all, "consumers", "0")),
                    Integer.parseInt(str(all, "max-attempts", "3")),
                    Duration.ofMillis(Long.parseLong(str(all, "retry-backoff-ms", "5000"))),
                    Duration.ofSeconds(Long.parseLong(str(all, "max-job-timeout-seconds", "14400"))),
                    Path.of(str(all, "image-root", home.resolve("images").toString())),
                    Path.of(str(all, "output-root", home.resolve("output").toString())),
                    Path.of(str(all, "data-dir", home.resolve("kafka").toString())),
                    Integer.parseInt(str(all, "job-partitions", "6")),
                    Duration.ofMillis(Long.parseLong(str(all, "poll-timeout-ms", "500"))),
                    str(all, "instance-id", defaultInstanceId()),
                    Map.copyOf(kafka),
                    PoolConfig.fromProperties(all, env),
                    bool(str(all, "sysprep-host-scripts", "false")),
                    Integer.parseInt(str(all, "inspect-batch-size", "8")),
                    Duration.ofMillis(Long.parseLong(str(all, "inspect-batch-wait-ms", "20"))),
                    Duration.ofMillis(Long.parseLong(str(all, "claim-lease-ms", "30000"))),
                    Duration.ofSeconds(Long.parseLong(str(all, "startup-timeout-seconds", "300"))),
                    str(all, "group-protocol", "classic"),
                    Duration.ofMillis(Long.parseLong(str(all, "max-poll-interval-ms", "300000"))),
                    Long.parseLong(str(all, "dedup-index-max-jobs", "5000000")));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad number in " + PREFIX + "* settings: " + e.getMessage(), e);
        }
    }

    public EngineConfig withBootstrapServers(String servers) {
        return new EngineConfig(servers, groupId, topics, consumers, maxAttempts, retryBackoff, maxJobTimeout, imageRoot,
                outputRoot, dataDir, jobPartitions, pollTimeout, instanceId, kafka, pool, sysprepHostScripts,
                inspectBatchSize, inspectBatchWait, claimLease, startupTimeout, groupProtocol, maxPollInterval,
                dedupIndexMaxJobs);
    }

    public EngineConfig withPool(PoolConfig p) {
        return new EngineConfig(bootstrapServers, groupId, topics, consumers, maxAttempts, retryBackoff, maxJobTimeout,
                imageRoot, outputRoot, dataDir, jobPartitions, pollTimeout, instanceId, kafka, p, sysprepHostScripts,
                inspectBatchSize, inspectBatchWait, claimLease, startupTimeout, groupProtocol, maxPollInterval,
                dedupIndexMaxJobs);
    }

    public EngineConfig withInspectBatchSize(int size) {
        return new EngineConfig(bootstrapServers, groupId, topics, consumers, maxAttempts, retryBackoff, maxJobTimeout,
                imageRoot, outputRoot, dataDir, jobPartitions, pollTimeout, instanceId, kafka, pool, sysprepHostScripts,
                size, inspectBatchWait, claimLease, startupTimeout, groupProtocol, maxPollInterval, dedupIndexMaxJobs);
    }

    public EngineConfig withStartupTimeout(Duration t) {
        return new EngineConfig(bootstrapServers, groupId, topics, consumers, maxAttempts, retryBackoff, maxJobTimeout,
                imageRoot, outputRoot, dataDir, jobPartitions, pollTimeout, instanceId, kafka, pool, sysprepHostScripts,
                inspectBatchSize, inspectBatchWait, claimLease, t, groupProtocol, maxPollInterval, dedupIndexMaxJobs);
    }

    private static boolean bool(String v) {
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException(PREFIX + "sysprep-host-scripts must be true or false, got " + v);
        }
        return Boolean.parseBoolean(v);
    }

    static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    private static String str(Map<String, String> all, String key, String dflt) {
        String v = all.get(PREFIX + key);
        // the shipped properties name paths under ${user.home}
        return v == null || v.isBlank() ? dflt : v.trim().replace("${user.home}", System.getProperty("user.home"));
    }

    private static String defaultInstanceId() {
        String host = System.getenv().getOrDefault("HOSTNAME", "localhost");
        return host + "-" + ProcessHandle.current().pid();
    }
}
