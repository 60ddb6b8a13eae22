package io.guestflow.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * bench/share-groups: what share groups (KIP-932, Kafka 4.2+; acquisition
 * lock renewal KIP-1222) would change for guestflow, measured on the embedded
 * 4.3 broker (argument: its bootstrap address). "Jobs" are records whose
 * processing is a sleep.
 *
 * <ol>
 * <li>consumers beyond the partition count: 3 consumers, a 1-partition
 *     topic, 24 jobs of 500 ms — a share group vs a classic group;</li>
 * <li>a consumer that dies holding a job (stops polling, never acknowledges,
 *     never closes): how long until another consumer gets the job;</li>
 * <li>a job longer than the acquisition lock, renewed with RENEW: is it
 *     delivered to anyone else meanwhile;</li>
 * <li>a job released every time: how many deliveries before the broker
 *     archives it (the delivery count limit).</li>
 * </ol>
 */
public final class ShareGroupBench {
    private static final Duration JOB = Duration.ofMillis(500);
    private static boolean strictRecordLimit = true;

    private ShareGroupBench() {
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        long lockMs = args.length > 1 ? Long.parseLong(args[1]) : 15_000;
        String stamp = Long.toString(System.currentTimeMillis());
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            System.out.printf("%-62s %s%n", "measure", "result");
            if (!Boolean.getBoolean("renewOnly")) {
                scaling(admin, bootstrap, stamp);
                String group = "share-crash-" + stamp;
                configureGroup(admin, group, lockMs);
                crash(admin, bootstrap, stamp, group, lockMs);
            }
            String renewGroup = "share-renew-" + stamp;
            configureGroup(admin, renewGroup, lockMs);
            renew(admin, bootstrap, stamp, renewGroup, lockMs);
            String limitGroup = "share-limit-" + stamp;
            configureGroup(admin, limitGroup, lockMs);
            deliveryLimit(admin, bootstrap, stamp, limitGroup);
        }
    }

    private static void configureGroup(Admin admin, String group, long lockMs) throws Exception {
        ConfigResource g = new ConfigResource(ConfigResource.Type.GROUP, group);
        Collection<AlterConfigOp> ops = List.of(
                new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET),
                new AlterConfigOp(new ConfigEntry("share.record.lock.duration.ms", String.valueOf(lockMs)), AlterConfigOp.OpType.SET),
                // KIP-1222: RENEW acknowledgements are refused unless the group allows them
                new AlterConfigOp(new ConfigEntry("share.renew.acknowledge.enable", "true"), AlterConfigOp.OpType.SET));
        admin.incrementalAlterConfigs(Map.of(g, ops)).all().get(30, TimeUnit.SECONDS);
    }

    private static String topic(Admin admin, String name) throws Exception {
        admin.createTopics(List.of(new NewTopic(name, Optional.of(1), Optional.empty()))).all().get(30, TimeUnit.SECONDS);
        return name;
    }

    private static void produce(String bootstrap, String topic, int n) {
        try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap, "acks", "all"),
                new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < n; i++) {
                p.send(new ProducerRecord<>(topic, "job-" + i, "job-" + i));
            }
            p.flush();
        }
    }

    private static KafkaShareConsumer<String, String> share(String bootstrap, String group, String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", group);
        p.put("share.acknowledgement.mode", "explicit");
        p.put("max.poll.records", "1");
        if (strictRecordLimit) {
            // without it the broker hands a consumer the whole producer batch, however many records it holds
            p.put("share.acquire.mode", "record_limit");
        }
        KafkaShareConsumer<String, String> c = new KafkaShareConsumer<>(p, new StringDeserializer(), new StringDeserializer());
        c.subscribe(List.of(topic));
        return c;
    }

    /** 24 jobs of 500 ms on one partition, three consumers: the share group spreads them, the classic group cannot. */
    private static void scaling(Admin admin, String bootstrap, String stamp) throws Exception {
        strictRecordLimit = false;
        shareScaling(admin, bootstrap, stamp + "-b", "1 share group (acquire mode batch_optimized, the default)");
        strictRecordLimit = true;
        shareScaling(admin, bootstrap, stamp + "-r", "  share group, share.acquire.mode=record_limit");
        classicScaling(admin, bootstrap, stamp);
    }

    private static void shareScaling(Admin admin, String bootstrap, String stamp, String label) throws Exception {
        int jobs = 24;
        String t = topic(admin, "bench.share.scale." + stamp);
        String group = "share-scale-" + stamp;
        configureGroup(admin, group, 30_000);
        produce(bootstrap, t, jobs);
        Map<Integer, AtomicInteger> perConsumer = new ConcurrentHashMap<>();
        AtomicInteger done = new AtomicInteger();
        long t0 = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            int me = k;
            perConsumer.put(me, new AtomicInteger());
            threads.add(started(() -> {
                try (KafkaShareConsumer<String, String> c = share(bootstrap, group, t)) {
                    while (done.get() < jobs && System.nanoTime() - t0 < TimeUnit.MINUTES.toNanos(3)) {
                        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                            sleep(JOB);
                            c.acknowledge(r, AcknowledgeType.ACCEPT);
                            perConsumer.get(me).incrementAndGet();
                            done.incrementAndGet();
                        }
                        c.commitSync(Duration.ofSeconds(10));
                    }
                }
            }));
        }
        for (Thread th : threads) {
            th.join();
        }
        double shareS = (System.nanoTime() - t0) / 1e9;
        System.out.printf("%-62s %.1f s, jobs per consumer %s%n", label + ": 24 x 500 ms, 1 partition, 3 consumers",
                shareS, perConsumer.values());
    }

    private static void classicScaling(Admin admin, String bootstrap, String stamp) throws Exception {
        int jobs = 24;
        String t = topic(admin, "bench.share.scale-classic." + stamp);
        produce(bootstrap, t, jobs);
        List<Thread> threads = new ArrayList<>();
        // the classic group: one partition, so one consumer works and two idle
        String classicGroup = "classic-scale-" + stamp;
        AtomicInteger classicDone = new AtomicInteger();
        Map<Integer, AtomicInteger> classicPer = new ConcurrentHashMap<>();
        long c0 = System.nanoTime();
        threads.clear();
        for (int k = 0; k < 3; k++) {
            int me = k;
            classicPer.put(me, new AtomicInteger());
            threads.add(started(() -> {
                Properties p = new Properties();
                p.put("bootstrap.servers", bootstrap);
                p.put("group.id", classicGroup);
                p.put("auto.offset.reset", "earliest");
                p.put("max.poll.records", "1");
                try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
                    c.subscribe(List.of(t));
                    while (classicDone.get() < jobs && System.nanoTime() - c0 < TimeUnit.MINUTES.toNanos(3)) {
                        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                            sleep(JOB);
                            classicPer.get(me).incrementAndGet();
                            classicDone.incrementAndGet();
                        }
                        c.commitSync();
                    }
                }
            }));
        }
        for (Thread th : threads) {
            th.join();
        }
        double classicS = (System.nanoTime() - c0) / 1e9;
        System.out.printf("%-62s %.1f s, jobs per consumer %s%n", "  classic group, same", classicS, classicPer.values());
    }

    /** A consumer takes a job and dies with it (no ack, no close): when does another consumer get it? */
    private static void crash(Admin admin, String bootstrap, String stamp, String group, long lockMs) throws Exception {
        String t = topic(admin, "bench.share.crash." + stamp);
        produce(bootstrap, t, 1);
        KafkaShareConsumer<String, String> dying = share(bootstrap, group, t);
        long taken = -1;
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        while (taken < 0 && System.nanoTime() < deadline) {
            if (!dying.poll(Duration.ofMillis(200)).isEmpty()) {
                taken = System.nanoTime();
            }
        }
        // it dies: no more polls, no acknowledgement, no close (its client threads linger like a hung JVM would)
        long again = -1;
        try (KafkaShareConsumer<String, String> other = share(bootstrap, group, t)) {
            while (again < 0 && System.nanoTime() - taken < TimeUnit.MINUTES.toNanos(3)) {
                for (ConsumerRecord<String, String> r : other.poll(Duration.ofMillis(200))) {
                    again = System.nanoTime();
                    other.acknowledge(r, AcknowledgeType.ACCEPT);
                    other.commitSync(Duration.ofSeconds(10));
                }
            }
        }
        System.out.printf("%-62s %s (lock %d ms)%n", "2 a consumer dies holding a job: redelivered after",
                again < 0 ? "NOT within 3 min" : String.format("%.1f s", (again - taken) / 1e9), lockMs);
    }

    /** A job twice as long as the lock, renewed every third of it: delivered to nobody else meanwhile? */
    private static void renew(Admin admin, String bootstrap, String stamp, String group, long lockMs) throws Exception {
        String t = topic(admin, "bench.share.renew." + stamp);
        produce(bootstrap, t, 1);
        List<String> others = new CopyOnWriteArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        Thread watcher = started(() -> {
            try (KafkaShareConsumer<String, String> c = share(bootstrap, group, t)) {
                while (!stop.get()) {
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                        others.add(r.key());
                        c.acknowledge(r, AcknowledgeType.RELEASE);
                    }
                }
            }
        });
        int renewals = 0;
        String outcome;
        try (KafkaShareConsumer<String, String> worker = share(bootstrap, group, t)) {
            ConsumerRecord<String, String> held = null;
            long lockSeen = worker.acquisitionLockTimeoutMs().orElse(-1);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
            while (held == null && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : worker.poll(Duration.ofMillis(200))) {
                    held = r;
                }
            }
            if (held == null) {
                outcome = "the watcher took the job first; run again";
            } else {
                others.clear();
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(lockMs * 2);
                while (System.nanoTime() < until) {
                    sleep(Duration.ofMillis(lockMs / 3));
                    worker.acknowledge(held, AcknowledgeType.RENEW);
                    worker.commitSync(Duration.ofSeconds(10));
                    renewals++;
                    // a renewed record comes back from the next poll, to be acknowledged (or renewed) again
                    for (ConsumerRecord<String, String> r : worker.poll(Duration.ofMillis(500))) {
                        if (r.offset() == held.offset()) {
                            held = r;
                        }
                    }
                }
                worker.acknowledge(held, AcknowledgeType.ACCEPT);
                worker.commitSync(Duration.ofSeconds(10));
                outcome = others.isEmpty() ? "no other delivery" : "ALSO delivered to another consumer " + others.size() + "x";
            }
        } catch (Exception e) {
            outcome = "failed: " + e;
        }
        stop.set(true);
        watcher.join();
        System.out.printf("%-62s %s (%d renewals)%n", "3 a job held 2 x the lock with RENEW every lock/3", outcome, renewals);
    }

    /** A job released again and again: after how many deliveries does the broker give up on it? */
    private static void deliveryLimit(Admin admin, String bootstrap, String stamp, String group) throws Exception {
        String t = topic(admin, "bench.share.limit." + stamp);
        produce(bootstrap, t, 1);
        int deliveries = 0;
        int maxCount = 0;
        try (KafkaShareConsumer<String, String> c = share(bootstrap, group, t)) {
            long quiet = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < quiet) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    deliveries++;
                    maxCount = Math.max(maxCount, r.deliveryCount().orElse((short) 0));
                    c.acknowledge(r, AcknowledgeType.RELEASE);
                    quiet = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                }
                c.commitSync(Duration.ofSeconds(10));
            }
        }
        System.out.printf("%-62s %d deliveries (last delivery count %d), then archived: gone%n",
                "4 a job released every time (a crash loop)", deliveries, maxCount);
    }

    private static Thread started(Runnable r) {
        Thread t = new Thread(r);
        t.start();
        return t;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
