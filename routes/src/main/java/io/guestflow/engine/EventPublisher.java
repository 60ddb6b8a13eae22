package io.guestflow.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.pool.GuestEvent;
import io.guestflow.pool.Secrets;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes CloudEvents-style envelopes to the log topic, keyed by jobId:
 * job lifecycle ({@code io.guestflow.job.accepted}, ...) and the libguestfs
 * events of the job's handle ({@code io.guestflow.libguestfs.library}, ...).
 * Sends are asynchronous; the result is what is published synchronously.
 */
public final class EventPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(EventPublisher.class);
    /** At most this many progress events per job per second (the final 100 % always passes). */
    private static final long PROGRESS_INTERVAL_MS = 250;

    private final Producer<String, byte[]> producer;
    private final String topic;
    private final String source;
    private final ObjectMapper json;
    private final Map<String, Long> lastProgress = new ConcurrentHashMap<>();
    /** The libguestfs call each running job is in. */
    private final Map<String, String> steps = new ConcurrentHashMap<>();
    /** Jobs whose appliance is booting: the calls launch makes itself are not steps. */
    private final Set<String> launching = ConcurrentHashMap.newKeySet();

    private final io.guestflow.management.EngineMetrics metrics;

    public EventPublisher(Producer<String, byte[]> producer, String topic, String instanceId, ObjectMapper json) {
        this(producer, topic, instanceId, json, io.guestflow.management.EngineMetrics.none());
    }

    public EventPublisher(Producer<String, byte[]> producer, String topic, String instanceId, ObjectMapper json,
                          io.guestflow.management.EngineMetrics metrics) {
        this.producer = producer;
        this.topic = topic;
        this.source = "guestflow/" + instanceId;
        this.json = json;
        this.metrics = metrics;
    }

    /** A job lifecycle event. */
    public void lifecycle(String jobId, Lifecycle what, Map<String, ?> data) {
        publish(jobId, what.type(), json.valueToTree(data));
    }

    /**
     * A libguestfs event of the job's handle, with the job's current step (the
     * libguestfs call it is in). Appliance messages, the call trace and call
     * entries only when the job asked for debug (or the configuration turned
     * verbose/trace on); progress rate-limited per job, the final 100 % always
     * published.
     */
    public void libguestfs(String jobId, GuestEvent e, boolean debug) {
        if (e.kind() == GuestEvent.Kind.ENTER) {
            // libguestfs names each API call as it starts: that is the job's current step, except
            // for the calls launch makes itself (get_backend_setting...): until it is done, the step is launch
            if ("launch".equals(e.message())) {
                launching.add(jobId);
                steps.put(jobId, e.message());
            } else if (!launching.contains(jobId)) {
                steps.put(jobId, e.message());
            }
        } else if (e.kind() == GuestEvent.Kind.LAUNCH_DONE) {
            launching.remove(jobId);
        }
        if (!debug && (e.kind() == GuestEvent.Kind.APPLIANCE || e.kind() == GuestEvent.Kind.TRACE
                || e.kind() == GuestEvent.Kind.ENTER)) {
            return;
        }
        if (e.kind() == GuestEvent.Kind.PROGRESS) {
            long now = System.currentTimeMillis();
            Long last = lastProgress.get(jobId);
            boolean finished = e.total() > 0 && e.position() >= e.total();
            if (!finished && last != null && now - last < PROGRESS_INTERVAL_MS) {
                return;
            }
            lastProgress.put(jobId, now);
        }
        ObjectNode data = json.createObjectNode();
        data.put("class", e.kind().name().toLowerCase(java.util.Locale.ROOT));
        data.put("message", e.message());
        String step = steps.get(jobId);
        if (step != null) {
            data.put("step", step);
        }
        if (e.kind() == GuestEvent.Kind.PROGRESS) {
            data.put("position", e.position());
            data.put("total", e.total());
            data.put("percent", Math.round(e.percent() * 10) / 10.0);
        }
        publish(jobId, "io.guestflow.libguestfs." + e.kind().name().toLowerCase(java.util.Locale.ROOT), data);
    }

    /** Forgets per-job state once the job is done. */
    public void finished(String jobId) {
        lastProgress.remove(jobId);
        steps.remove(jobId);
        launching.remove(jobId);
    }

    private void publish(String jobId, String type, Object data) {
        ObjectNode env = json.createObjectNode();
        env.put("specversion", "1.0");
        env.put("id", UUID.randomUUID().toString());
        env.put("source", source);
        env.put("type", type);
        env.put("subject", jobId);
        env.put("time", Instant.now().toString());
        env.put("datacontenttype", "application/json");
        // one redaction for every event: URIs' userinfo and queries, passwords (Secrets)
        env.set("data", Secrets.redact((com.fasterxml.jackson.databind.JsonNode) json.valueToTree(data)));
        try {
            byte[] bytes = json.writeValueAsString(env).getBytes(StandardCharsets.UTF_8);
            String kind = type.startsWith(Lifecycle.TYPE_PREFIX) ? "lifecycle" : "libguestfs";
            producer.send(new ProducerRecord<>(topic, jobId, bytes), (md, ex) -> {
                if (ex != null) {
                    LOG.warn("cannot publish event {} of job {}: {}", type, jobId, ex.getMessage());
                } else {
                    metrics.eventPublished(kind);
                }
            });
        } catch (Exception ex) {
            LOG.warn("cannot publish event {} of job {}: {}", type, jobId, ex.getMessage());
        }
    }
}
