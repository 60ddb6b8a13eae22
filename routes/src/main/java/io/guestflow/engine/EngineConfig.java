package io.guestflow.engine;

import io.guestflow.pool.PoolConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;

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
 * @param maxJobTimeout    the longest timeoutSeconds a job may ask; sizes max.poll.interval.ms
 * @param sysprepHostScripts whether sysprep jobs may run their {@code scripts} on this host (off: rejected)
 * @param inspectBatchSize  most inspect jobs inspected on one shared appliance; 1: batching off
 * @param inspectBatchWait  with batching on, how long a consumer waits for more jobs to join the ones it has
 * @param tmpRoot           where directories that jobs name in their options (sparsify's tmpDir) must lie
 * @param allowDebugJobs    whether jobs may ask for {@code "debug": true} (traces name drives and qemu's command line)
 * @param outputMode        the mode of a new output file (a replaced one keeps its own)
 */
public record EngineConfig(String bootstrapServers, String groupId, Topics topics, int consumers, int maxAttempts,
                           Duration retryBackoff, Duration maxJobTimeout, Path imageRoot, Path outputRoot,
                           Path dataDir, int jobPartitions, Duration pollTimeout, String instanceId,
                           Map<String, String> kafka, PoolConfig pool, boolean sysprepHostScripts,
                           int inspectBatchSize, Duration inspectBatchWait, Path tmpRoot, boolean allowDebugJobs,
                           Set<PosixFilePermission> outputMode) {

    public EngineConfig {
        if (inspectBatchSize < 1) {
            throw new IllegalArgumentException(PREFIX + "inspect-batch-size must be 1 (off) or more, got " + inspectBatchSize);
        }
    }

    /** Topic names. */
    public record Topics(String jobs, String results, String log, String journal, String dlq) {
    }

    public static final String PREFIX = "guestflow.engine.";

    public boolean embedded() {
        return bootstrapServers == null || bootstrapServers.isBlank();
    }

    /**
     * max.poll.interval.ms: a consumer busy with the longest allowed job must
     * stay in its group, and a consumer takes up to {@link #inspectBatchSize()}
     * jobs per poll, which may run one after another.
     */
    public long maxPollIntervalMs() {
        long oneJob = maxJobTimeout.plus(pool.launchTimeout()).multipliedBy(maxAttempts).plus(Duration.ofMinutes(5)).toMillis();
        return Math.min(Integer.MAX_VALUE, oneJob * inspectBatchSize);
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
            "inspect-batch-size", "inspect-batch-wait-ms", "tmp-root", "allow-debug-jobs", "output-mode"};
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
                            str(all, "topic.dlq", "guestflow.jobs.dlq")),
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
                    bool("sysprep-host-scripts", str(all, "sysprep-host-scripts", "false")),
                    Integer.parseInt(str(all, "inspect-batch-size", "8")),
                    Duration.ofMillis(Long.parseLong(str(all, "inspect-batch-wait-ms", "20"))),
                    Path.of(str(all, "tmp-root", home.resolve("tmp").toString())),
                    bool("allow-debug-jobs", str(all, "allow-debug-jobs", "false")),
                    mode(str(all, "output-mode", "0644")));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad number in " + PREFIX + "* settings: " + e.getMessage(), e);
        }
    }

    public EngineConfig withBootstrapServers(String servers) {
        return new EngineConfig(servers, groupId, topics, consumers, maxAttempts, retryBackoff, maxJobTimeout, imageRoot,
                outputRoot, dataDir, jobPartitions, pollTimeout, instanceId, kafka, pool, sysprepHostScripts,
                inspectBatchSize, inspectBatchWait, tmpRoot, allowDebugJobs, outputMode);
    }

    public EngineConfig withPool(PoolConfig p) {
        return new EngineConfig(bootstrapServers, groupId, topics, consumers, maxAttempts, retryBackoff, maxJobTimeout,
                imageRoot, outputRoot, dataDir, jobPartitions, pollTimeout, instanceId, kafka, p, sysprepHostScripts,
                inspectBatchSize, inspectBatchWait, tmpRoot, allowDebugJobs, outputMode);
    }

    /** This configuration with debug jobs allowed or refused. */
    public EngineConfig withAllowDebugJobs(boolean allow) {
        return new EngineConfig(bootstrapServers, groupId, topics, consumers, maxAttempts, retryBackoff, maxJobTimeout,
                imageRoot, outputRoot, dataDir, jobPartitions, pollTimeout, instanceId, kafka, pool, sysprepHostScripts,
                inspectBatchSize, inspectBatchWait, tmpRoot, allow, outputMode);
    }

    public EngineConfig withInspectBatchSize(int size) {
        return new EngineConfig(bootstrapServers, groupId, topics, consumers, maxAttempts, retryBackoff, maxJobTimeout,
                imageRoot, outputRoot, dataDir, jobPartitions, pollTimeout, instanceId, kafka, pool, sysprepHostScripts,
                size, inspectBatchWait, tmpRoot, allowDebugJobs, outputMode);
    }

    private static boolean bool(String key, String v) {
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException(PREFIX + key + " must be true or false, got " + v);
        }
        return Boolean.parseBoolean(v);
    }

    /** An octal mode such as 0644 (no set-id, sticky or execute bits: outputs are images). */
    static Set<PosixFilePermission> mode(String v) {
        if (!v.matches("0?[0-6][0-6][0-6]")) {
            throw new IllegalArgumentException(PREFIX + "output-mode must be an octal mode of read/write bits such as"
                    + " 0644, got " + v);
        }
        String digits = v.length() == 4 ? v.substring(1) : v;
        StringBuilder rwx = new StringBuilder();
        for (char c : digits.toCharArray()) {
            int d = c - '0';
            rwx.append((d & 4) != 0 ? 'r' : '-').append((d & 2) != 0 ? 'w' : '-').append('-');
        }
        return PosixFilePermissions.fromString(rwx.toString());
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
