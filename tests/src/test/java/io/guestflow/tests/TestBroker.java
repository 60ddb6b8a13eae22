package io.guestflow.tests;

import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

/**
 * A real Kafka broker for tests that run the engine against an external
 * cluster: Testcontainers' Kafka (the official apache/kafka image) where a
 * Docker engine is available, the in-process KRaft test kit otherwise.
 */
public interface TestBroker extends AutoCloseable {
    String KAFKA_IMAGE = "apache/kafka:4.3.1";

    String bootstrapServers();

    String kind();

    static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            return false;
        }
    }

    static TestBroker start() throws Exception {
        return dockerAvailable() ? container() : testKit();
    }

    static TestBroker container() {
        KafkaContainer kafka = new KafkaContainer(KAFKA_IMAGE);
        kafka.start();
        return new TestBroker() {
            public String bootstrapServers() {
                return kafka.getBootstrapServers();
            }

            public String kind() {
                return "testcontainers " + KAFKA_IMAGE;
            }

            public void close() {
                kafka.stop();
            }
        };
    }

    static TestBroker testKit() throws Exception {
        // one node: internal topics must not ask for three replicas
        java.util.Map<String, String> single = java.util.Map.of(
                "offsets.topic.replication.factor", "1",
                "offsets.topic.num.partitions", "1",
                "transaction.state.log.replication.factor", "1",
                "transaction.state.log.min.isr", "1",
                "group.initial.rebalance.delay.ms", "0");
        KafkaClusterTestKit kit = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1)
                .setPerServerProperties(java.util.Map.of(0, single)).build()).build();
        kit.format();
        kit.startup();
        kit.waitForReadyBrokers();
        return new TestBroker() {
            public String bootstrapServers() {
                return kit.bootstrapServers();
            }

            public String kind() {
                return "in-process KRaft test kit";
            }

            public void close() throws Exception {
                kit.close();
            }
        };
    }
}
