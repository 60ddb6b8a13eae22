package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guestflow.cli.GuestflowCli;
import io.guestflow.kafka.Partitions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code submit --each-disk} against a real broker (no engine, no appliance):
 * one job per disk, and the jobs spread evenly over the jobs topic's
 * partitions, so that each consumer's inspect batch gets an equal share.
 */
class SubmitEachDiskTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOPIC = "guestflow.jobs";

    @TempDir
    Path dir;

    @Test
    void twelveDisksAreTwelveJobsTwoOnEachOfSixPartitions() throws Exception {
        try (TestBroker broker = TestBroker.start()) {
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
                admin.createTopics(List.of(new NewTopic(TOPIC, 6, (short) 1))).all().get();
            }
            List<String> args = new ArrayList<>(List.of("submit", "-b", broker.bootstrapServers(), "-t", "inspect",
                    "--each-disk", "--job-id", "fleet", "--format", "qcow2"));
            for (int i = 1; i <= 12; i++) {
                args.add("-d");
                args.add(Files.createFile(dir.resolve("guest-" + i + ".qcow2")).toString());
            }
            assertThat(GuestflowCli.commandLine().execute(args.toArray(String[]::new))).isZero();

            Map<Integer, List<String>> byPartition = new TreeMap<>();
            Map<String, JsonNode> jobs = new TreeMap<>();
            for (ConsumerRecord<String, byte[]> r : readAll(broker.bootstrapServers(), 12)) {
                byPartition.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(r.key());
                jobs.put(r.key(), JSON.readTree(r.value()));
            }
            assertThat(jobs).hasSize(12).containsKeys("fleet-1", "fleet-12");
            assertThat(byPartition).as("jobs per partition: %s", byPartition).hasSize(6);
            assertThat(byPartition.values()).allSatisfy(ids -> assertThat(ids).hasSize(2));
            JsonNode first = jobs.get("fleet-1");
            assertThat(first.path("type").asText()).isEqualTo("inspect");
            assertThat(first.path("disks")).hasSize(1);
            assertThat(first.path("disks").get(0).path("uri").asText()).endsWith("guest-1.qcow2");
            assertThat(first.path("disks").get(0).path("format").asText()).isEqualTo("qcow2");
        }
    }

    private static List<ConsumerRecord<String, byte[]>> readAll(String bootstrap, int expected) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("enable.auto.commit", "false");
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = Partitions.of(c, TOPIC);
            c.assign(parts);
            c.seekToBeginning(parts);
            List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(300)).forEach(out::add);
            }
            return out;
        }
    }
}
