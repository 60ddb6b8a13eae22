package io.guestflow.cli;

import io.guestflow.engine.Engine;
import io.guestflow.engine.EngineConfig;
import io.guestflow.kafka.Partitions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code guestflow tail}: print a topic's records as they arrive. */
@Command(name = "tail", mixinStandardHelpOptions = true,
        description = "Print the records of one of guestflow's topics: KEY<TAB>VALUE (dead letters: also the reason).")
public final class TailCommand implements Callable<Integer> {
    enum Stream { results, log, journal, dlq }

    @Mixin
    EngineOptions options = new EngineOptions();

    @Parameters(paramLabel = "TOPIC", description = "One of: ${COMPLETION-CANDIDATES}.")
    Stream stream;

    @Option(names = "--from-beginning", description = "Start at the oldest record instead of new ones only.")
    boolean fromBeginning;

    @Option(names = {"-n", "--max"}, description = "Stop after this many records.")
    Integer max;

    @Option(names = "--idle-exit", paramLabel = "SECONDS", description = "Stop when nothing arrived for this long.")
    Integer idleExit;

    @Option(names = {"-T", "--timestamp"}, description = "Start each line with the record's timestamp (ms since the epoch).")
    boolean timestamp;

    @Override
    public Integer call() {
        EngineConfig cfg = options.engineConfig();
        String topic = switch (stream) {
            case results -> cfg.topics().results();
            case log -> cfg.topics().log();
            case journal -> cfg.topics().journal();
            case dlq -> cfg.topics().dlq();
        };
        Properties p = new Properties();
        p.putAll(Engine.clientProps(cfg));
        p.put("bootstrap.servers", options.clientBootstrap(cfg));
        p.put("enable.auto.commit", "false");
        int seen = 0;
        long lastRecord = System.currentTimeMillis();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = Partitions.of(c, topic);
            c.assign(parts);
            if (fromBeginning) {
                c.seekToBeginning(parts);
            } else {
                c.seekToEnd(parts);
            }
            while (max == null || seen < max) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                    StringBuilder line = new StringBuilder();
                    if (timestamp) {
                        line.append(r.timestamp()).append('\t');
                    }
                    line.append(r.key()).append('\t')
                            .append(r.value() == null ? "" : new String(r.value(), StandardCharsets.UTF_8));
                    Header reason = r.headers().lastHeader("guestflow.reason");
                    if (reason != null) {
                        line.append('\t').append(new String(reason.value(), StandardCharsets.UTF_8));
                    }
                    System.out.println(line);
                    lastRecord = System.currentTimeMillis();
                    if (max != null && ++seen >= max) {
                        break;
                    }
                }
                if (idleExit != null && System.currentTimeMillis() - lastRecord > idleExit * 1000L) {
                    break;
                }
            }
        }
        return ExitCodes.OK;
    }
}
