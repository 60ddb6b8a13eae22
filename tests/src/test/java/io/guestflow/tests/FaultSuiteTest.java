package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.guestflow.samples.SampleGuests.Image;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The fault suite: real engine processes (separate JVMs, {@code bin/guestflow
 * run}) in one consumer group on a broker of their own ({@code bin/guestflow
 * broker}, a separate JVM too), under load, with faults:
 *
 * <ol>
 * <li>two engines start before the broker exists (they must wait, not consume);</li>
 * <li>an instance is killed with SIGKILL while it runs a job, twice;</li>
 * <li>an instance is added mid-run;</li>
 * <li>the broker is restarted once under load.</li>
 * </ol>
 *
 * It counts jobs submitted, results per jobId (exactly one), executions per
 * jobId ({@code started} events: more than one only for a job whose
 * instance was killed while running it, and never two overlapping), lost
 * jobs (none), and the time from an instance's death to its job running
 * elsewhere, and prints them as a table. The jobs are {@code info} jobs
 * (qemu-img, no appliance), some "slow" info jobs (their image sits on
 * storage that hangs: the engines' {@code qemu-img} is a wrapper that never
 * returns for images named {@code hung-*}, until the job's deadline kills
 * it and the job is REJECTED — a job that reliably runs for seconds; the
 * image policy refuses the FIFOs that would hang the real qemu-img, rightly),
 * a few duplicates of jobs under
 * other keys, and {@code inspect} jobs (appliances).
 *
 * <p>Inside {@code make test} it runs small: {@value #DEFAULT_INFO} info
 * jobs and {@value #DEFAULT_INSPECT} inspect job (two launches: it is
 * killed once). {@code bench/fault-suite} runs it full size through system
 * properties {@code guestflow.faults.*}.
 */
@Tag("appliance")
class FaultSuiteTest {
    static final int DEFAULT_INFO = 60;
    static final int DEFAULT_INSPECT = 1;
    private static final String SLOW = "slow";

    private final int infoJobs = Integer.getInteger("guestflow.faults.info", DEFAULT_INFO);
    private final int inspectJobs = Integer.getInteger("guestflow.faults.inspect", DEFAULT_INSPECT);
    private final int slowSeconds = Integer.getInteger("guestflow.faults.slow-seconds", 6);
    private final int leaseMs = Integer.getInteger("guestflow.faults.lease-ms", 10_000);
    private final int sessionMs = Integer.getInteger("guestflow.faults.session-ms", 10_000);
    private final String protocol = System.getProperty("guestflow.faults.group-protocol", "classic");
    private final String tableFile = System.getProperty("guestflow.faults.table");

    private Path work;
    private Process broker;
    private final Map<String, Process> engines = new LinkedHashMap<>();
    private final Map<String, Long> killedAt = new LinkedHashMap<>();
    private final List<String> timeline = new ArrayList<>();
    private long t0;
    private int brokerStarts;

    @AfterEach
    void stopEverything() throws Exception {
        for (Process p : engines.values()) {
            p.destroy();
        }
        for (Process p : engines.values()) {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        if (broker != null) {
            broker.destroy();
            if (!broker.waitFor(60, TimeUnit.SECONDS)) {
                broker.destroyForcibly();
            }
        }
        if (work != null) {
            // what SIGKILLed engines left: children re-parented away (qemu-img dies at its backstop, qemu by
            // libguestfs's watcher; here at once) and libguestfs's socket directories, which a restarted engine sweeps
            String dir = work.toString();
            ProcessHandle.allProcesses().filter(p -> io.guestflow.pool.HostInfo.commandLine(p).orElse("").contains(dir))
                    .forEach(ProcessHandle::destroyForcibly);
            io.guestflow.pool.StaleDirSweeper.sweep(Path.of(System.getenv().getOrDefault("TMPDIR", "/tmp")), "libguestfs");
            if (!Boolean.getBoolean("guestflow.faults.keep")) {
                io.guestflow.pool.FileTrees.delete(work);
            }
        }
    }

    private void note(String what) {
        String line = String.format("%7.1f s  %s", (System.currentTimeMillis() - t0) / 1000.0, what);
        timeline.add(line);
        System.err.println("fault suite: " + line);
    }

    private static Path jar() {
        return Path.of(System.getProperty("guestflow.repo", "..")).resolve("routes/target/guestflow.jar").toAbsolutePath();
    }

    private Process startBroker(int port) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("java", "-Xmx512m", "-jar", jar().toString(), "broker",
                "--data-dir", work.resolve("kafka").toString(), "--port", String.valueOf(port));
        Path logFile = work.resolve("broker-" + (++brokerStarts) + ".log");
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        Process p = pb.start();
        awaitLog(p, logFile, "127.0.0.1:" + port, Duration.ofMinutes(2), "the broker to start");
        return p;
    }

    private Process startEngine(String id, String bootstrap) throws Exception {
        Path cfg = work.resolve(id + ".properties");
        Files.writeString(cfg, String.join("\n",
                "guestflow.engine.bootstrap-servers=" + bootstrap,
                "guestflow.engine.instance-id=" + id,
                "guestflow.engine.management-port=0",
                "guestflow.engine.image-root=" + work.resolve("images"),
                "guestflow.engine.output-root=" + work.resolve("out"),
                "guestflow.engine.claim-lease-ms=" + leaseMs,
                "guestflow.engine.group-protocol=" + protocol,
                "guestflow.engine.retry-backoff-ms=500",
                "guestflow.pool.max-appliances=1",
                "guestflow.pool.acceleration=tcg",
                "guestflow.pool.tmp-dir=" + work.resolve("handles-" + id),
                protocol.equals("classic") ? "kafka.session.timeout.ms=" + sessionMs : "",
                protocol.equals("classic") ? "kafka.heartbeat.interval.ms=" + sessionMs / 5 : "") + "\n");
        ProcessBuilder pb = new ProcessBuilder("java", "-Xmx384m", "-Djava.library.path=/usr/lib/x86_64-linux-gnu/jni",
                "-jar", jar().toString(), "run", "--config", cfg.toString());
        pb.environment().keySet().removeIf(k -> k.startsWith("GUESTFLOW_"));
        pb.environment().put("PATH", work.resolve("bin") + File.pathSeparator + System.getenv("PATH"));
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(work.resolve(id + ".log").toFile()));
        Process p = pb.start();
        engines.put(id, p);
        note("started engine " + id + " (pid " + p.pid() + ")");
        return p;
    }

    /**
     * The engines' qemu-img (first on their PATH): the real one, except that
     * for the image {@code name} it hangs, as on storage that stopped
     * answering, until the engine's deadline kills it.
     */
    private void hangingQemuImg(String name) throws Exception {
        Path real = null;
        for (String dir : System.getenv("PATH").split(File.pathSeparator)) {
            Path candidate = Path.of(dir, "qemu-img");
            if (Files.isExecutable(candidate)) {
                real = candidate;
                break;
            }
        }
        assertThat(real).as("qemu-img on PATH").isNotNull();
        Path wrapper = Files.createDirectories(work.resolve("bin")).resolve("qemu-img");
        Files.writeString(wrapper, "#!/bin/sh\n"
                + "case \"$*\" in *'/" + name + "'*) exec sleep 3600 ;; esac\n"
                + "exec '" + real + "' \"$@\"\n");
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private void awaitLog(Process p, Path logFile, String text, Duration timeout, String what) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(logFile) || !Files.readString(logFile).contains(text)) {
            assertThat(p.isAlive()).as("%s: process exited: %s", what, Files.exists(logFile) ? Files.readString(logFile) : "")
                    .isTrue();
            assertThat(System.nanoTime()).as("timed out waiting for " + what).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private void awaitRunning(String id) throws Exception {
        awaitLog(engines.get(id), work.resolve(id + ".log"), "guestflow engine running", Duration.ofMinutes(3),
                "engine " + id + " to be ready");
        note("engine " + id + " ready");
    }

    /** One execution: a started event, by an instance, at a time. */
    record Exec(String jobId, String instance, long at) {
    }

    /** An instance gave a job up without a result ({@code abandoned} event): when, and why. */
    record Abandon(String instance, long at, String reason) {
    }

    private static String instanceOf(JsonNode event) {
        return event.path("source").asText().replace("guestflow/", "");
    }

    private static long millis(JsonNode event) {
        return Instant.parse(event.path("time").asText()).toEpochMilli();
    }

    /** Executions seen so far, by jobId, in start order. */
    private static Map<String, List<Exec>> executions(TopicLog log, String logTopic) {
        Map<String, List<Exec>> out = new TreeMap<>();
        for (ConsumerRecord<String, byte[]> r : log.records(logTopic)) {
            JsonNode e = TopicLog.json(r.value());
            if (e.path("type").asText().equals("io.guestflow.job.started")) {
                out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(new Exec(r.key(), instanceOf(e), millis(e)));
            }
        }
        out.values().forEach(l -> l.sort(Comparator.comparingLong(Exec::at)));
        return out;
    }

    private static Map<String, List<Abandon>> abandons(TopicLog log, String logTopic) {
        Map<String, List<Abandon>> out = new TreeMap<>();
        for (ConsumerRecord<String, byte[]> r : log.records(logTopic)) {
            JsonNode e = TopicLog.json(r.value());
            if (e.path("type").asText().equals("io.guestflow.job.abandoned")) {
                out.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(new Abandon(instanceOf(e), millis(e),
                        e.path("data").path("reason").asText()));
            }
        }
        return out;
    }

    private static Map<String, List<ConsumerRecord<String, byte[]>>> results(TopicLog log, String topic) {
        return log.records(topic).stream().collect(Collectors.groupingBy(ConsumerRecord::key, TreeMap::new, Collectors.toList()));
    }

    /** A job an alive instance runs now (started, no result yet) whose id starts with one of {@code prefixes}. */
    private Exec runningJob(TopicLog log, List<String> prefixes) {
        Map<String, List<ConsumerRecord<String, byte[]>>> done = results(log, "guestflow.results");
        for (Map.Entry<String, List<Exec>> e : executions(log, "guestflow.log").entrySet()) {
            Exec last = e.getValue().get(e.getValue().size() - 1);
            // a job not killed under before: each kill shows another job's recovery
            if (!done.containsKey(e.getKey()) && e.getValue().size() == 1 && prefixes.stream().anyMatch(e.getKey()::startsWith)
                    && engines.containsKey(last.instance()) && engines.get(last.instance()).isAlive()
                    && !killedAt.containsKey(last.instance())) {
                return last;
            }
        }
        return null;
    }

    private String kill(TopicLog log, List<String> prefixes, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exec victim;
        while ((victim = runningJob(log, prefixes)) == null) {
            assertThat(System.nanoTime()).as("no running job of %s to kill an instance under", prefixes).isLessThan(deadline);
            log.poll();
        }
        // let it run a moment: mid-job, not at its first instant
        Thread.sleep(1000);
        Process p = engines.get(victim.instance());
        Leftovers.expectDebrisOfKilling(p.toHandle());
        p.destroyForcibly();
        killedAt.put(victim.instance(), System.currentTimeMillis());
        p.waitFor(30, TimeUnit.SECONDS);
        note("kill -9 " + victim.instance() + " while it runs " + victim.jobId());
        return victim.instance();
    }

    private static String infoJob(String id, Path disk, int timeoutSeconds) {
        return "{\"jobId\":\"" + id + "\",\"type\":\"info\",\"disks\":[{\"uri\":\"" + disk.toUri() + "\"}]"
                + (timeoutSeconds > 0 ? ",\"timeoutSeconds\":" + timeoutSeconds : "") + "}";
    }

    @Test
    void threeEnginesTwoKillsABrokerRestartAndANewInstanceLoseNothingAndRunNothingTwiceAtOnce() throws Exception {
        t0 = System.currentTimeMillis();
        work = Files.createTempDirectory("guestflow-faults-");
        Path images = Files.createDirectories(work.resolve("images"));
        Files.createDirectories(work.resolve("out"));
        List<Path> disks = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            disks.add(InfoImages.qcow2(images, "disk-" + i + ".qcow2"));
        }
        Path hung = InfoImages.qcow2(images, "hung-1.qcow2");
        hangingQemuImg(hung.getFileName().toString());
        Path guest = null;
        if (inspectJobs > 0) {
            guest = Files.copy(Fixtures.image(Image.BLANK_EXT4), images.resolve("guest.qcow2"));
        }
        int port = FreePort.get();
        String bootstrap = "127.0.0.1:" + port;

        // two engines before there is a broker: they must wait for it
        startEngine("e1", bootstrap);
        startEngine("e2", bootstrap);
        for (String id : List.of("e1", "e2")) {
            awaitLog(engines.get(id), work.resolve(id + ".log"), "not ready: broker", Duration.ofMinutes(2),
                    id + " to say it waits for the broker");
        }
        assertThat(Files.readString(work.resolve("e1.log"))).as("no broker yet: nothing consumed")
                .doesNotContain("guestflow engine running").doesNotContain("jobs partitions assigned");
        note("e1, e2 wait for the broker");
        broker = startBroker(port);
        note("broker up at " + bootstrap);
        startEngine("e3", bootstrap);
        for (String id : List.of("e1", "e2", "e3")) {
            awaitRunning(id);
        }

        Map<String, Object> client = Map.of("bootstrap.servers", bootstrap);
        Set<String> submitted = new LinkedHashSet<>();
        int records = 0;
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap,
                "acks", "all", "linger.ms", 5), new StringSerializer(), new ByteArraySerializer());
             TopicLog log = new TopicLog(client, "guestflow.results", "guestflow.log", "guestflow.jobs.dlq")) {
            // the load: info jobs, a few sent twice under another key, inspect jobs, and slow jobs to kill under
            List<String[]> first = new ArrayList<>();
            List<String[]> second = new ArrayList<>();
            for (int i = 0; i < infoJobs; i++) {
                String id = "info-" + i;
                String job = infoJob(id, disks.get(i % disks.size()), 0);
                (i % 2 == 0 ? first : second).add(new String[] {id, job});
                if (i % 20 == 7) {
                    (i % 2 == 0 ? first : second).add(new String[] {"dup-key-" + i, job});
                }
            }
            // two slow jobs early (the first kill happens under one), two late with the inspect jobs (the second)
            List<String[]> late = new ArrayList<>();
            for (int i = 0; i < inspectJobs; i++) {
                String id = "inspect-" + i;
                late.add(new String[] {id, "{\"jobId\":\"" + id + "\",\"type\":\"inspect\",\"options\":{\"applications\":false},"
                        + "\"disks\":[{\"uri\":\"" + guest.toUri() + "\"}]}"});
            }
            for (int i = 0; i < 4; i++) {
                String id = SLOW + "-" + i;
                (i < 2 ? first : late).add(i < 2 ? i : late.size(), new String[] {id, infoJob(id, hung, slowSeconds)});
            }
            for (String[] j : first) {
                producer.send(new ProducerRecord<>("guestflow.jobs", j[0], j[1].getBytes(StandardCharsets.UTF_8)));
                submitted.add(TopicLog.json(j[1].getBytes(StandardCharsets.UTF_8)).path("jobId").asText());
                records++;
            }
            producer.flush();
            note("submitted " + first.size() + " records (first half)");

            // fault 1: kill an instance while it runs a slow job (or an inspect job)
            List<String> killable = new ArrayList<>(List.of(SLOW));
            String v1 = kill(log, killable, Duration.ofMinutes(3));
            // fault 2: an instance joins mid-run
            startEngine("e4", bootstrap);
            // the second half arrives while the group changes
            for (String[] j : second) {
                producer.send(new ProducerRecord<>("guestflow.jobs", j[0], j[1].getBytes(StandardCharsets.UTF_8)));
                submitted.add(TopicLog.json(j[1].getBytes(StandardCharsets.UTF_8)).path("jobId").asText());
                records++;
            }
            producer.flush();
            note("submitted " + second.size() + " records (second half)");
            awaitRunning("e4");
            // fault 3: the broker restarts under load
            broker.destroy();
            broker.waitFor(60, TimeUnit.SECONDS);
            note("broker stopped");
            broker = startBroker(port);
            note("broker up again");
            for (String[] j : late) {
                producer.send(new ProducerRecord<>("guestflow.jobs", j[0], j[1].getBytes(StandardCharsets.UTF_8)));
                submitted.add(j[0]);
                records++;
            }
            producer.flush();
            note("submitted " + late.size() + " records (slow and inspect jobs)");
            // fault 4: the second kill, under an inspect job when there are any, else a slow job
            List<String> second2 = inspectJobs > 0 ? List.of("inspect-") : List.of(SLOW);
            String v2 = kill(log, second2, Duration.ofMinutes(5));
            assertThat(v2).isNotEqualTo(v1);

            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(6 + 3L * inspectJobs);
            log.await(Duration.ofNanos(deadline - System.nanoTime()), "a result for every job", () ->
                    submitted.stream().allMatch(id -> log.values("guestflow.results", id).size() >= 1));
            note("every job has a result");
            log.drain(Duration.ofSeconds(10)); // a second result or execution would show now

            Figures f = figures(log, submitted, records);
            String table = f.table(timeline);
            System.out.println(table);
            if (tableFile != null) {
                Files.writeString(Path.of(tableFile), table);
            }
            assertThat(f.lost).as("lost jobs").isEmpty();
            assertThat(f.notOneResult).as("jobs without exactly one result").isEmpty();
            assertThat(f.overlapping).as("executions of one job at the same time").isEmpty();
            assertThat(f.rerunWithoutKill).as("jobs run twice although nothing was killed under them").isEmpty();
            assertThat(f.rerunAfterKill).as("jobs of the killed instances ran again elsewhere").isNotEmpty();
            assertThat(f.deadLetters).isZero();
        }
    }

    /** What the run shows. */
    private final class Figures {
        int jobs;
        int records;
        int results;
        final List<String> lost = new ArrayList<>();
        final List<String> notOneResult = new ArrayList<>();
        final Map<Integer, Integer> executionsHistogram = new TreeMap<>();
        final List<String> overlapping = new ArrayList<>();
        final List<String> rerunWithoutKill = new ArrayList<>();
        final List<String> rerunAfterKill = new ArrayList<>();
        final List<String> rerunAfterAbandon = new ArrayList<>();
        final List<Long> deathToRerun = new ArrayList<>();
        final Map<String, Integer> statuses = new TreeMap<>();
        int skippedDuplicates;
        int deadLetters;

        String table(List<String> timeline) {
            StringBuilder b = new StringBuilder();
            b.append("fault suite: ").append(engines.size()).append(" engine JVMs (3 + 1 added), ").append(killedAt.size())
                    .append(" killed with SIGKILL, 1 broker restart; ").append(protocol).append(" group protocol, claim lease ")
                    .append(leaseMs).append(" ms").append(protocol.equals("classic") ? ", session timeout " + sessionMs + " ms" : "")
                    .append('\n');
            row(b, "jobs submitted (distinct jobIds)", jobs);
            row(b, "  records produced (some jobIds twice, under another key)", records);
            row(b, "  of which info / slow info / inspect", jobs - 4 - inspectJobs + " / 4 / " + inspectJobs);
            row(b, "result records", results);
            row(b, "jobs with exactly 1 result", jobs - notOneResult.size() - lost.size());
            row(b, "jobs without a result (lost)", lost.size());
            row(b, "results by status", statuses);
            row(b, "executions (started events) per job: jobs", executionsHistogram);
            row(b, "jobs run again after their instance was killed", rerunAfterKill);
            row(b, "jobs run again after their instance gave them up", rerunAfterAbandon);
            row(b, "jobs run again with no kill nor give-up before", rerunWithoutKill.size());
            row(b, "overlapping executions of a job", overlapping.size());
            row(b, "duplicate records skipped", skippedDuplicates);
            row(b, "dead letters", deadLetters);
            row(b, "death -> job started elsewhere (ms)", deathToRerun);
            b.append("timeline:\n");
            timeline.forEach(l -> b.append("  ").append(l).append('\n'));
            return b.toString();
        }

        private void row(StringBuilder b, String name, Object value) {
            b.append(String.format("  %-58s %s%n", name, value));
        }
    }

    private Figures figures(TopicLog log, Set<String> submitted, int records) {
        Figures f = new Figures();
        f.jobs = submitted.size();
        f.records = records;
        Map<String, List<ConsumerRecord<String, byte[]>>> results = results(log, "guestflow.results");
        Map<String, List<Exec>> execs = executions(log, "guestflow.log");
        Map<String, List<Abandon>> abandoned = abandons(log, "guestflow.log");
        f.results = results.values().stream().mapToInt(List::size).sum();
        for (String id : submitted) {
            List<ConsumerRecord<String, byte[]>> rs = results.getOrDefault(id, List.of());
            if (rs.isEmpty()) {
                f.lost.add(id);
                continue;
            }
            if (rs.size() != 1) {
                f.notOneResult.add(id + " (" + rs.size() + ")");
            }
            f.statuses.merge(TopicLog.json(rs.get(0).value()).path("status").asText(), 1, Integer::sum);
            List<Exec> ex = execs.getOrDefault(id, List.of());
            f.executionsHistogram.merge(ex.size(), 1, Integer::sum);
            for (int i = 1; i < ex.size(); i++) {
                Exec before = ex.get(i - 1);
                Exec next = ex.get(i);
                // how the earlier execution ended: its instance killed, or the instance gave it up (abandoned)
                Long death = killedAt.get(before.instance());
                Abandon gaveUp = abandoned.getOrDefault(id, List.of()).stream()
                        .filter(a -> a.instance().equals(before.instance()) && a.at() >= before.at()).findFirst().orElse(null);
                long end = Long.MAX_VALUE;
                String how = null;
                if (death != null && death >= before.at()) {
                    end = death;
                    how = "kill";
                }
                if (gaveUp != null && gaveUp.at() < end) {
                    end = gaveUp.at();
                    how = "abandoned: " + gaveUp.reason();
                }
                if (how == null) {
                    f.rerunWithoutKill.add(id + " (" + before.instance() + " then " + next.instance() + ")");
                } else if (next.at() < end) {
                    f.overlapping.add(id + ": " + next.instance() + " started it " + (end - next.at())
                            + " ms before " + before.instance() + "'s execution ended (" + how + ")");
                } else if (how.equals("kill")) {
                    f.rerunAfterKill.add(id);
                    f.deathToRerun.add(next.at() - end);
                } else {
                    f.rerunAfterAbandon.add(id + " (" + before.instance() + ", " + how + ")");
                }
            }
        }
        for (ConsumerRecord<String, byte[]> r : log.records("guestflow.log")) {
            if (TopicLog.json(r.value()).path("type").asText().equals("io.guestflow.job.skipped")) {
                f.skippedDuplicates++;
            }
        }
        f.deadLetters = log.records("guestflow.jobs.dlq").size();
        return f;
    }
}
