package io.guestflow.bench;

import io.guestflow.engine.ResultIndex;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * bench/dedup-index: N results (as the engine writes them: JSON of an info
 * result, status headers) on a fresh compacted topic of a broker running in
 * another JVM; then a {@link ResultIndex} reads them from the start. Prints
 * the catch-up time and the memory the index takes per million job ids (its
 * table exactly, and the heap it adds, measured after GC).
 *
 * <p>Arguments: BOOTSTRAP N [noheaders]. With {@code noheaders} the values
 * carry no status header and the index reads the status from the JSON (as for
 * results written by older engines).
 */
public final class DedupIndexBench {
    private DedupIndexBench() {
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        int n = Integer.parseInt(args[1]);
        boolean headers = args.length < 3 || !args[2].equals("noheaders");
        String topic = "bench.results." + System.currentTimeMillis();
        Map<String, Object> client = Map.of("bootstrap.servers", bootstrap);
        try (Admin admin = Admin.create(client)) {
            admin.createTopics(List.of(new NewTopic(topic, Optional.of(1), Optional.empty())
                    .configs(Map.of("cleanup.policy", "compact")))).all().get(60, TimeUnit.SECONDS);
        }
        long bytes = 0;
        long t0 = System.nanoTime();
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap, "acks", "1",
                "linger.ms", 20, "batch.size", 262144, "compression.type", "lz4"), new StringSerializer(),
                new ByteArraySerializer())) {
            for (int i = 0; i < n; i++) {
                // job ids as scans make them: scan name + sha256
                String id = String.format("nightly-%064x", (long) i * 0x9E3779B97F4A7C15L);
                byte[] value = result(id, i).getBytes(StandardCharsets.UTF_8);
                bytes += value.length;
                ProducerRecord<String, byte[]> r = new ProducerRecord<>(topic, id, value);
                if (headers) {
                    r.headers().add(new RecordHeader(ResultIndex.STATUS_HEADER, "SUCCEEDED".getBytes(StandardCharsets.UTF_8)));
                    r.headers().add(new RecordHeader(ResultIndex.RETRYABLE_HEADER, "false".getBytes(StandardCharsets.UTF_8)));
                }
                p.send(r);
            }
            p.flush();
        }
        double produceS = (System.nanoTime() - t0) / 1e9;

        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        long heapBefore = usedAfterGc(mem);
        long start = System.nanoTime();
        ResultIndex index = new ResultIndex(client, topic, Long.MAX_VALUE);
        if (!index.awaitCaughtUp(Duration.ofMinutes(30))) {
            throw new IllegalStateException("the index did not catch up: " + index.reason());
        }
        double catchUpS = (System.nanoTime() - start) / 1e9;
        long heapAfter = usedAfterGc(mem);
        int size = index.size();
        long table = index.memoryBytes();
        boolean allThere = index.outcome(String.format("nightly-%064x", (long) (n - 1) * 0x9E3779B97F4A7C15L))
                == ResultIndex.Outcome.SUCCEEDED && index.outcome("never-submitted") == ResultIndex.Outcome.NONE;
        index.close();

        double perMillion = 1_000_000.0 / size;
        System.out.printf("%-44s %,d%n", "results on the topic", n);
        System.out.printf("%-44s %,d bytes (%.0f bytes each)%n", "  value bytes", bytes, (double) bytes / n);
        System.out.printf("%-44s %s%n", "  status in", headers ? "record headers (as the engine writes)" : "the JSON only");
        System.out.printf("%-44s %.1f s%n", "  produced in", produceS);
        System.out.printf("%-44s %,d%n", "job ids in the index", size);
        System.out.printf("%-44s %s%n", "  lookups right", allThere ? "yes" : "NO");
        System.out.printf("%-44s %.1f s  (%.1f s per million)%n", "catch-up time", catchUpS, catchUpS * perMillion);
        System.out.printf("%-44s %.1f MB  (%.1f MB per million)%n", "index table", table / 1e6, table / 1e6 * perMillion);
        System.out.printf("%-44s %.1f MB  (%.1f MB per million)%n", "heap added (after GC)", (heapAfter - heapBefore) / 1e6,
                (heapAfter - heapBefore) / 1e6 * perMillion);
        System.out.printf("%-44s %s%n", "targets", "<= 64 MB and <= 30 s per million");
    }

    private static long usedAfterGc(MemoryMXBean mem) throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return mem.getHeapMemoryUsage().getUsed();
    }

    /** The JSON of an info job's result, as the engine publishes it. */
    private static String result(String id, int i) {
        return "{\"jobId\":\"" + id + "\",\"type\":\"info\",\"status\":\"SUCCEEDED\",\"labels\":{\"scan\":\"nightly\"},"
                + "\"timings\":{\"queuedAt\":\"2026-12-01T02:00:00.123Z\",\"receivedAt\":\"2026-12-01T02:00:00.140Z\","
                + "\"runEndedAt\":\"2026-12-01T02:00:00.201Z\",\"finishedAt\":\"2026-12-01T02:00:00.209Z\",\"runMillis\":61},"
                + "\"output\":{\"disks\":[{\"path\":\"/images/prod/vm-" + i + ".qcow2\",\"format\":\"qcow2\","
                + "\"virtualSize\":21474836480,\"allocatedSize\":" + (1_000_000L + i) + ",\"clusterSize\":65536,"
                + "\"dirty\":false,\"corrupt\":false,\"compat\":\"1.1\",\"snapshots\":[],\"check\":{\"result\":\"clean\","
                + "\"checkErrors\":0}}]},\"attempts\":1,\"engine\":\"web-eng-1-4242\"}";
    }
}
