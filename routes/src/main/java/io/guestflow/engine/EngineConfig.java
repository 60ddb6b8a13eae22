package io.guestflow.engine;

import io.guestflow.pool.PoolConfig;
import io.guestflow.settings.Configuration;
import io.guestflow.settings.Setting;
import io.guestflow.settings.SettingGroup;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Typed settings of the engine ({@code guestflow.engine.*}), each declared
 * once below (key, type, default, description, rules) and listed in
 * {@link #SETTINGS}; {@code GuestflowConfig} puts them
 * in the catalog with the pool's, the scans' and the logging settings.
 * Keys under {@code kafka.} pass through to every Kafka client without the
 * prefix (SASL, TLS, ...).
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
 * @param managementPort    port of /health/live, /health/ready and /metrics; 0: off
 * @param managementHost    address the management endpoint listens on
 * @param tmpRoot           where directories that jobs name in their options (sparsify's tmpDir) must lie
 * @param allowDebugJobs    whether jobs may ask for {@code "debug": true} (traces name drives and qemu's command line)
 * @param outputMode        the mode of a new output file (a replaced one keeps its own)
 * @param claimLease        how long a claim on a jobId lasts without renewal (renewed every quarter of it);
 *                          a killed instance's job runs elsewhere after about this long
 * @param startupTimeout    how long start-up retries reaching the broker, its topics and the caught-up
 *                          results index before it gives up; zero: forever
 * @param groupProtocol     the jobs consumer's group protocol
 * @param maxPollInterval   max.poll.interval.ms of the jobs consumer: jobs run outside the poll loop, so minutes
 * @param dedupIndexMaxJobs the most job ids the results index holds (about 36 MB of heap per million)
 * @param secretsDir        where the key files jobs name lie; null: jobs with keys are REJECTED
 */
public record EngineConfig(String bootstrapServers, String groupId, Topics topics, int consumers, int maxAttempts,
                           Duration retryBackoff, Duration maxJobTimeout, Path imageRoot, Path outputRoot,
                           Path dataDir, int jobPartitions, Duration pollTimeout, String instanceId,
                           Map<String, String> kafka, PoolConfig pool, boolean sysprepHostScripts,
                           int inspectBatchSize, Duration inspectBatchWait, int managementPort, String managementHost,
                           Path tmpRoot, boolean allowDebugJobs, Set<PosixFilePermission> outputMode,
                           Duration claimLease, Duration startupTimeout, GroupProtocol groupProtocol,
                           Duration maxPollInterval, long dedupIndexMaxJobs, Path secretsDir) {

    public EngineConfig {
        if (inspectBatchSize < 1) {
            throw new IllegalArgumentException(PREFIX + "inspect-batch-size must be 1 (off) or more, got " + inspectBatchSize);
        }
    }

    /** Topic names. {@code claims}: who runs which jobId now (leases; see ClaimLedger). */
    public record Topics(String jobs, String results, String log, String journal, String dlq, String claims) {
        /** Every topic the engine needs, the jobs topic first. */
        public List<String> all() {
            return List.of(jobs, results, claims, log, journal, dlq);
        }
    }

    /** The jobs consumer's group protocol. */
    public enum GroupProtocol {
        /** The classic protocol with cooperative-sticky assignment: every broker kafka-clients 4.3 supports. */
        CLASSIC,
        /** KIP-848: the broker assigns, incrementally (brokers 4.0+). */
        CONSUMER
    }

    public static final String PREFIX = "guestflow.engine.";
    /** Keys under it pass through to every Kafka client without it. */
    public static final String KAFKA_PREFIX = "kafka.";

    public static final Setting<String> BOOTSTRAP_SERVERS = Setting.of(PREFIX + "bootstrap-servers", Setting.STRING)
            .withDescription("Kafka cluster (host:port,...). Empty: start the embedded single-node KRaft broker"
                    + " in-process (storage in data-dir; its address is written there for submit and tail).");
    public static final Setting<Path> DATA_DIR = Setting.of(PREFIX + "data-dir", Setting.PATH)
            .withDefault("${user.home}/.guestflow/kafka")
            .withDescription("The embedded broker's storage.");
    public static final Setting<String> GROUP_ID = Setting.of(PREFIX + "group-id", Setting.STRING)
            .withDefault("guestflow")
            .withDescription("Consumer group of the jobs topic: instances with the same group share its partitions.");
    public static final Setting<String> TOPIC_JOBS = topic("jobs", "guestflow.jobs", "Jobs (key = jobId).");
    public static final Setting<String> TOPIC_RESULTS = topic("results", "guestflow.results",
            "Results (key = jobId), compacted: one result per jobId; also the dedup index.");
    public static final Setting<String> TOPIC_LOG = topic("log", "guestflow.log", "Job lifecycle and libguestfs events.");
    public static final Setting<String> TOPIC_JOURNAL = topic("journal", "guestflow.journal", "Guest journal records.");
    public static final Setting<String> TOPIC_DLQ = topic("dlq", "guestflow.jobs.dlq",
            "Dead letters: messages that name no valid jobId, with the reason in a header.");
    public static final Setting<String> TOPIC_CLAIMS = topic("claims", "guestflow.claims",
            "Who runs which jobId now (leases): broker timestamps (LogAppendTime), not compacted (config/topics.md).");
    public static final Setting<Integer> JOB_PARTITIONS = Setting.of(PREFIX + "job-partitions", Setting.INTEGER)
            .withDefault("6").must(Setting.atLeast(1), ">= 1")
            .withDescription("Partitions of the jobs topic when the engine creates it: the most consumers, over all"
                    + " instances, that can work at once.");
    public static final Setting<Integer> CONSUMERS = Setting.of(PREFIX + "consumers", Setting.INTEGER)
            .withDefault("0").must(Setting.atLeast(0), ">= 0")
            .withDescription("Jobs processed at once by this instance (worker threads; the instance has one Kafka"
                    + " consumer). 0: the pool's capacity.");
    public static final Setting<Integer> MAX_ATTEMPTS = Setting.of(PREFIX + "max-attempts", Setting.INTEGER)
            .withDefault("3").must(Setting.atLeast(1), ">= 1")
            .withDescription("Runs of one job when its appliance fails to launch, crashes or no slot is free; bad"
                    + " input and timeouts are never retried.");
    public static final Setting<Duration> RETRY_BACKOFF = Setting.of(PREFIX + "retry-backoff-ms", Setting.MILLIS)
            .withDefault("5000").must(d -> !d.isNegative(), ">= 0")
            .withDescription("Wait before the first retry; it doubles each time.");
    public static final Setting<Duration> MAX_JOB_TIMEOUT = Setting.of(PREFIX + "max-job-timeout-seconds", Setting.SECONDS)
            .withDefault("14400").must(d -> d.toSeconds() >= 1, ">= 1")
            .withDescription("The longest timeoutSeconds a job may ask for; longer ones are REJECTED. Jobs run outside"
                    + " the poll loop, so it does not size max.poll.interval.ms.");
    public static final Setting<Path> IMAGE_ROOT = Setting.of(PREFIX + "image-root", Setting.PATH)
            .withDefault("${user.home}/.guestflow/images")
            .withDescription("Every file:// disk must resolve (symlinks included) under this directory.");
    public static final Setting<Path> OUTPUT_ROOT = Setting.of(PREFIX + "output-root", Setting.PATH)
            .withDefault("${user.home}/.guestflow/output")
            .withDescription("Every output must resolve under this directory.");
    public static final Setting<Duration> POLL_TIMEOUT = Setting.of(PREFIX + "poll-timeout-ms", Setting.MILLIS)
            .withDefault("500").must(d -> d.toMillis() >= 1, ">= 1")
            .withDescription("Poll timeout of the jobs consumer when nothing waits to run; a stop waits up to this"
                    + " long for it.");
    public static final Setting<String> INSTANCE_ID = Setting.of(PREFIX + "instance-id", Setting.STRING)
            .withDescription("Name of this instance in results and event sources. Empty: HOSTNAME-pid.");
    public static final Setting<Boolean> SYSPREP_HOST_SCRIPTS = Setting.of(PREFIX + "sysprep-host-scripts", Setting.BOOLEAN)
            .withDefault("false")
            .withDescription("sysprep's \"script\" operation runs the job's shell commands ON THIS HOST, as the"
                    + " engine's user, in the FUSE-mounted guest: whoever can write to the jobs topic could then run"
                    + " anything here. Off: such jobs are REJECTED.");
    public static final Setting<Integer> INSPECT_BATCH_SIZE = Setting.of(PREFIX + "inspect-batch-size", Setting.INTEGER)
            .withDefault("8").must(Setting.atLeast(1), ">= 1")
            .withDescription("Batched inspection: inspect jobs a consumer finds waiting together share one appliance,"
                    + " up to this many guests per launch (1: off, every job launches its own). Answers never change:"
                    + " guests whose VG names, filesystem UUIDs or labels collide with another guest's, or whose fstab"
                    + " names devices such as /dev/sda1 that would be another guest's disk, are inspected alone; each"
                    + " result says how it ran (\"batch\"). A consumer also takes this many jobs of any type per poll.");
    public static final Setting<Duration> INSPECT_BATCH_WAIT = Setting.of(PREFIX + "inspect-batch-wait-ms", Setting.MILLIS)
            .withDefault("20").must(d -> !d.isNegative(), ">= 0")
            .withDescription("With batching on, jobs that arrived run once no new job came for this long or the batch"
                    + " is full (the jobs consumer then polls this often).");
    public static final Setting<Path> REPORTS_DIR = Setting.of(PREFIX + "reports-dir", Setting.PATH)
            .withDefault("${user.home}/.guestflow/reports")
            .withDescription("Scan reports (report.html, report.csv, report.json) go to <reports-dir>/<scan>/<run id>/;"
                    + " the previous run's report.json there is what \"new / changed / removed\" is measured against.");
    public static final Setting<Integer> MANAGEMENT_PORT = Setting.of(PREFIX + "management-port", Setting.INTEGER)
            .withDefault("9876").must(p -> p >= 0 && p <= 65535, "0-65535")
            .withDescription("bin/guestflow run serves GET /health/live, /health/ready and /metrics (Prometheus)"
                    + " on this port. 0: off.");
    public static final Setting<String> MANAGEMENT_HOST = Setting.of(PREFIX + "management-host", Setting.STRING)
            .withDefault("0.0.0.0")
            .withDescription("Address the management endpoint listens on (0.0.0.0: every interface, as probes"
                    + " from outside a container need; 127.0.0.1: this host only).");

    public static final Setting<Path> TMP_ROOT = Setting.of(PREFIX + "tmp-root", Setting.PATH)
            .withDefault("${user.home}/.guestflow/tmp")
            .withDescription("Directories that jobs name in their options (sparsify's tmpDir, also in pipeline steps)"
                    + " must resolve under this directory; others are REJECTED.");
    public static final Setting<Set<PosixFilePermission>> OUTPUT_MODE = Setting.of(PREFIX + "output-mode",
                    Setting.type("octal mode", EngineConfig::mode))
            .withDefault("0644")
            .withDescription("Mode of a new output image (octal, read/write bits). An output replaced by a job that"
                    + " says \"overwrite\": true keeps its own mode.");
    public static final Setting<Boolean> ALLOW_DEBUG_JOBS = Setting.of(PREFIX + "allow-debug-jobs", Setting.BOOLEAN)
            .withDefault("false")
            .withDescription("Jobs with \"debug\": true publish the libguestfs call trace and appliance messages, which"
                    + " name drives and hold qemu's command line. false: such jobs are REJECTED; only the operator turns"
                    + " tracing on (pool.verbose/trace) or allows it.");

    public static final Setting<Duration> MAX_POLL_INTERVAL = Setting.of(PREFIX + "max-poll-interval-ms", Setting.MILLIS)
            .withDefault("300000").must(d -> d.toMillis() >= 10_000, ">= 10000")
            .withDescription("max.poll.interval.ms of the jobs consumer. Jobs run outside the poll loop (their"
                    + " partitions paused), so the consumer polls all the time: minutes, whatever the jobs' timeouts.");
    public static final Setting<GroupProtocol> GROUP_PROTOCOL = Setting.of(PREFIX + "group-protocol",
                    Setting.choice(GroupProtocol.class))
            .withDefault("classic")
            .withDescription("classic: the classic consumer group protocol with cooperative-sticky assignment (every"
                    + " broker kafka-clients 4.3 supports); consumer: the KIP-848 protocol (brokers 4.0+; the session"
                    + " timeout is then the broker's group.consumer.session.timeout.ms). Either way a rebalance never"
                    + " waits for a running job. With classic, kafka.session.timeout.ms (default 45000) is how long a"
                    + " killed instance keeps its partitions.");
    public static final Setting<Duration> CLAIM_LEASE = Setting.of(PREFIX + "claim-lease-ms", Setting.MILLIS)
            .withDefault("30000").must(d -> d.toMillis() >= 1000, ">= 1000")
            .withDescription("At most one execution of a jobId at a time, over all instances: a lease per jobId on the"
                    + " claims topic, renewed every quarter of this. An instance that cannot renew stops the job itself"
                    + " before the lease ends; a killed instance's job runs elsewhere once its lease has ended (and its"
                    + " partition moved).");
    public static final Setting<Duration> STARTUP_TIMEOUT = Setting.of(PREFIX + "startup-timeout-seconds", Setting.SECONDS)
            .withDefault("300").must(d -> !d.isNegative(), ">= 0")
            .withDescription("Nothing is consumed until the broker answers, the topics are created or verified and the"
                    + " results index and the claims have caught up; start-up retries with backoff and gives up (exit"
                    + " code 6) after this many seconds. 0: it never gives up.");
    public static final Setting<Long> DEDUP_INDEX_MAX_JOBS = Setting.of(PREFIX + "dedup-index-max-jobs", Setting.LONG)
            .withDefault("5000000").must(Setting.atLeast(1), ">= 1")
            .withDescription("The results index (dedup) holds every jobId with a result, 17 bytes a slot (25-36 MB of"
                    + " heap per million). Past this many it stops taking jobs rather than forget one (raise it, and"
                    + " the heap, for larger results topics).");
    public static final Setting<Path> SECRETS_DIR = Setting.of(PREFIX + "secrets-dir", Setting.PATH)
            .must(Path::isAbsolute, "an absolute path")
            .withDescription("LUKS keys: a job names key files by reference (\"keys\": [{\"device\", \"file\"}]),"
                    + " relative to this directory or absolute inside it; each must resolve, symlinks included, inside"
                    + " it, be a regular file of at most 8 KiB, and its first line is the key. Files are read just"
                    + " before the job runs. Empty: every job with keys is REJECTED. Keys are never carried inline in a"
                    + " job; make the directory readable by the engine's user only.");

    /** The engine's settings, as documented. */
    public static final SettingGroup SETTINGS = new SettingGroup("engine (bin/guestflow run)", "",
            List.of(BOOTSTRAP_SERVERS, DATA_DIR, GROUP_ID, TOPIC_JOBS, TOPIC_RESULTS, TOPIC_LOG, TOPIC_JOURNAL, TOPIC_DLQ,
                    TOPIC_CLAIMS, JOB_PARTITIONS, CONSUMERS, MAX_ATTEMPTS, RETRY_BACKOFF, MAX_JOB_TIMEOUT,
                    MAX_POLL_INTERVAL, GROUP_PROTOCOL, CLAIM_LEASE, STARTUP_TIMEOUT, DEDUP_INDEX_MAX_JOBS, IMAGE_ROOT,
                    OUTPUT_ROOT, POLL_TIMEOUT, INSTANCE_ID, SYSPREP_HOST_SCRIPTS, INSPECT_BATCH_SIZE, INSPECT_BATCH_WAIT,
                    REPORTS_DIR, MANAGEMENT_PORT, MANAGEMENT_HOST, TMP_ROOT, OUTPUT_MODE, ALLOW_DEBUG_JOBS, SECRETS_DIR));

    private static Setting<String> topic(String name, String dflt, String description) {
        return Setting.of(PREFIX + "topic." + name, Setting.STRING).withDefault(dflt).withDescription(description);
    }

    public boolean embedded() {
        return bootstrapServers == null || bootstrapServers.isBlank();
    }

    public boolean batchingInspections() {
        return inspectBatchSize > 1;
    }

    public int effectiveConsumers() {
        return consumers > 0 ? consumers : pool.effectiveMaxAppliances();
    }

    public static EngineConfig from(Configuration c) {
        String instanceId = c.get(INSTANCE_ID);
        return new EngineConfig(
                c.get(BOOTSTRAP_SERVERS) == null ? "" : c.get(BOOTSTRAP_SERVERS),
                c.get(GROUP_ID),
                new Topics(c.get(TOPIC_JOBS), c.get(TOPIC_RESULTS), c.get(TOPIC_LOG), c.get(TOPIC_JOURNAL), c.get(TOPIC_DLQ),
                        c.get(TOPIC_CLAIMS)),
                c.get(CONSUMERS), c.get(MAX_ATTEMPTS), c.get(RETRY_BACKOFF), c.get(MAX_JOB_TIMEOUT),
                c.get(IMAGE_ROOT), c.get(OUTPUT_ROOT), c.get(DATA_DIR), c.get(JOB_PARTITIONS), c.get(POLL_TIMEOUT),
                instanceId == null ? defaultInstanceId() : instanceId,
                Map.copyOf(c.passedThrough(KAFKA_PREFIX)),
                PoolConfig.from(c), c.get(SYSPREP_HOST_SCRIPTS), c.get(INSPECT_BATCH_SIZE), c.get(INSPECT_BATCH_WAIT),
                c.get(MANAGEMENT_PORT), c.get(MANAGEMENT_HOST), c.get(TMP_ROOT), c.get(ALLOW_DEBUG_JOBS),
                c.get(OUTPUT_MODE), c.get(CLAIM_LEASE), c.get(STARTUP_TIMEOUT), c.get(GROUP_PROTOCOL),
                c.get(MAX_POLL_INTERVAL), c.get(DEDUP_INDEX_MAX_JOBS), c.get(SECRETS_DIR));
    }

    public EngineConfig withBootstrapServers(String servers) {
        return new EngineConfig(servers, groupId, topics, consumers, maxAttempts, retryBackoff, maxJobTimeout, imageRoot,
                outputRoot, dataDir, jobPartitions, pollTimeout, instanceId, kafka, pool, sysprepHostScripts,
                inspectBatchSize, inspectBatchWait, managementPort, managementHost, tmpRoot, allowDebugJobs, outputMode,
                claimLease, startupTimeout, groupProtocol, maxPollInterval, dedupIndexMaxJobs, secretsDir);
    }

    public EngineConfig withPool(PoolConfig p) {
        return new EngineConfig(bootstrapServers, groupId, topics, consumers, maxAttempts, retryBackoff, maxJobTimeout,
                imageRoot, outputRoot, dataDir, jobPartitions, pollTimeout, instanceId, kafka, p, sysprepHostScripts,
                inspectBatchSize, inspectBatchWait, managementPort, managementHost, tmpRoot, allowDebugJobs, outputMode,
                claimLease, startupTimeout, groupProtocol, maxPollInterval, dedupIndexMaxJobs, secretsDir);
    }

    /** An octal mode such as 0644 (no set-id, sticky or execute bits: outputs are images). */
    static Set<PosixFilePermission> mode(String v) {
        if (!v.matches("0?[0-6][0-6][0-6]")) {
            throw new IllegalArgumentException("an octal mode of read/write bits such as 0644, got " + v);
        }
        String digits = v.length() == 4 ? v.substring(1) : v;
        StringBuilder rwx = new StringBuilder();
        for (char c : digits.toCharArray()) {
            int d = c - '0';
            rwx.append((d & 4) != 0 ? 'r' : '-').append((d & 2) != 0 ? 'w' : '-').append('-');
        }
        return PosixFilePermissions.fromString(rwx.toString());
    }

    private static String defaultInstanceId() {
        String host = System.getenv().getOrDefault("HOSTNAME", "localhost");
        return host + "-" + ProcessHandle.current().pid();
    }
}
