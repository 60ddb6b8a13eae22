package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.guestflow.config.GuestflowConfig;
import io.guestflow.engine.EngineConfig;
import io.guestflow.pool.PoolConfig;
import io.guestflow.settings.Configuration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * docker-compose.yml and the Kubernetes files under deploy/ cannot run here
 * (no Docker engine, no cluster), so they are checked against the
 * configuration they run with: the mounted file and the variables load
 * without an error, the configured directories are mounts, ports and probe
 * URLs are the management endpoint's, grace periods exceed the pool's,
 * resources follow the pool's sizing rule, KVM is optional, and the
 * autoscaler watches the engine's group and jobs topic.
 */
class DeploymentFilesTest {
    private static final Path REPO = Path.of(System.getProperty("guestflow.repo", ".."));
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path CONTAINER_FILE = REPO.resolve("deploy/guestflow.properties");

    private static JsonNode yaml(String path) throws IOException {
        return YAML.readTree(REPO.resolve(path).toFile());
    }

    /** The configuration a container runs with: its file, then its variables (an unknown one is an error). */
    private static Configuration containerConfig(Map<String, String> env) {
        return GuestflowConfig.load(Configuration.readProperties(CONTAINER_FILE), "file " + CONTAINER_FILE, env);
    }

    private static List<String> directories(EngineConfig c) {
        return List.of(c.imageRoot().toString(), c.outputRoot().toString(), c.pool().cacheDir().toString(),
                c.pool().tmpDir().toString());
    }

    @Test
    void composeRunsTheEngineWithTheConfigurationItMounts() throws Exception {
        JsonNode compose = yaml("docker-compose.yml");
        JsonNode kafka = compose.path("services").path("kafka");
        JsonNode engine = compose.path("services").path("engine");
        assertThat(kafka.path("image").asText()).isEqualTo(TestBroker.KAFKA_IMAGE);
        assertThat(engine.path("build").asText()).isEqualTo(".");
        assertThat(engine.path("depends_on").has("kafka")).isTrue();

        Map<String, String> env = new ObjectMapper().convertValue(engine.path("environment"), Map.class);
        Configuration conf = containerConfig(env); // throws on a variable that names no setting, or a bad value
        EngineConfig c = EngineConfig.from(conf);
        EngineConfig defaults = GuestflowConfig.engine(Map.of(), Map.of());
        assertThat(c.topics()).isEqualTo(defaults.topics());
        assertThat(kafka.path("environment").path("KAFKA_ADVERTISED_LISTENERS").asText()).contains("//" + c.bootstrapServers());

        // the configuration file is the one the engine reads without --config
        Map<String, String> mounts = new HashMap<>();
        engine.path("volumes").forEach(v -> mounts.put(target(v.asText()), v.asText()));
        String configMount = mounts.get(GuestflowConfig.DEFAULT_FILE.toString());
        assertThat(configMount).as("config mounted at " + GuestflowConfig.DEFAULT_FILE).isNotNull();
        assertThat(REPO.resolve(source(configMount))).isEqualTo(REPO.resolve("./deploy/guestflow.properties"));

        // images: a writable bind mount (sysprep, in-place sparsify); outputs, reports, cache: declared volumes
        String images = mounts.get(c.imageRoot().toString());
        assertThat(images).as("image root mounted").isNotNull();
        assertThat(source(images)).as("images are a bind mount").startsWith("${GUESTFLOW_IMAGES:-./");
        assertThat(images).as("images writable").doesNotEndWith(":ro");
        List<String> declared = new ArrayList<>();
        for (Iterator<String> it = compose.path("volumes").fieldNames(); it.hasNext(); ) {
            declared.add(it.next());
        }
        for (String dir : List.of(c.outputRoot().toString(), conf.get(EngineConfig.REPORTS_DIR).toString(),
                c.pool().cacheDir().toString())) {
            assertThat(mounts).as(dir + " is a mount").containsKey(dir);
            assertThat(declared).as("volume of " + dir).contains(source(mounts.get(dir)));
        }

        // probes, grace, init, KVM
        String health = String.join(" ", YAML.convertValue(engine.path("healthcheck").path("test"), List.class));
        assertThat(health).contains("http://127.0.0.1:" + c.managementPort() + "/health/ready");
        assertThat(engine.path("ports").get(0).asText()).endsWith(":" + c.managementPort());
        assertThat(seconds(engine.path("stop_grace_period").asText()))
                .as("stop_grace_period exceeds the pool's shutdown grace and the routes' 5 s more")
                .isGreaterThan(c.pool().shutdownGrace().toSeconds() + 10);
        assertThat(engine.path("init").asBoolean()).isTrue();
        assertThat(engine.has("devices")).as("starts on hosts without /dev/kvm").isFalse();
        JsonNode kvm = yaml("docker-compose.kvm.yml").path("services").path("engine");
        assertThat(kvm.path("devices").get(0).asText()).isEqualTo("/dev/kvm:/dev/kvm");
    }

    @Test
    void theImageReadsTheContainerConfigurationByDefault() throws Exception {
        String dockerfile = Files.readString(REPO.resolve("Dockerfile"));
        assertThat(dockerfile).contains("COPY deploy/guestflow.properties " + GuestflowConfig.DEFAULT_FILE)
                .contains("CMD [\"run\"]").contains(" curl").contains("scripts/libguestfs-jar")
                .doesNotContain("libguestfs-1.48.6.jar");
        EngineConfig c = EngineConfig.from(containerConfig(Map.of()));
        for (String dir : List.of(c.imageRoot().toString(), c.outputRoot().toString(), c.pool().cacheDir().toString())) {
            assertThat(dockerfile).as("VOLUME " + dir).containsPattern("VOLUME \\[.*\"" + dir + "\"");
        }
        assertThat(dockerfile).contains("EXPOSE " + c.managementPort());
    }

    @Test
    void kubernetesDeploymentProbesMountsAndSizingFollowTheConfiguration() throws Exception {
        JsonNode kustomization = yaml("deploy/kustomization.yaml");
        assertThat(kustomization.path("configMapGenerator").get(0).path("files").get(0).asText())
                .isEqualTo("guestflow.properties");
        String configMap = kustomization.path("configMapGenerator").get(0).path("name").asText();

        JsonNode deployment = yaml("deploy/deployment.yaml");
        JsonNode pod = deployment.path("spec").path("template").path("spec");
        JsonNode container = pod.path("containers").get(0);
        Map<String, String> env = new HashMap<>();
        container.path("env").forEach(e -> env.put(e.path("name").asText(), e.path("value").asText("from-a-secret")));
        EngineConfig c = EngineConfig.from(containerConfig(env));
        Configuration conf = containerConfig(env);

        assertThat(container.path("ports").get(0).path("name").asText()).isEqualTo("management");
        assertThat(container.path("ports").get(0).path("containerPort").asInt()).isEqualTo(c.managementPort());
        assertThat(container.path("livenessProbe").path("httpGet").path("path").asText()).isEqualTo("/health/live");
        assertThat(container.path("readinessProbe").path("httpGet").path("path").asText()).isEqualTo("/health/ready");
        assertThat(container.path("livenessProbe").path("httpGet").path("port").asText()).isEqualTo("management");
        assertThat(container.path("readinessProbe").path("httpGet").path("port").asText()).isEqualTo("management");
        assertThat(pod.path("terminationGracePeriodSeconds").asLong())
                .isGreaterThan(c.pool().shutdownGrace().toSeconds() + 10);

        Map<String, String> mounts = new HashMap<>();
        container.path("volumeMounts").forEach(m -> mounts.put(m.path("mountPath").asText(), m.path("name").asText()));
        assertThat(mounts.get(GuestflowConfig.DEFAULT_FILE.getParent().toString())).isEqualTo("config");
        List<String> dirs = new ArrayList<>(directories(c));
        dirs.add(conf.get(EngineConfig.REPORTS_DIR).toString());
        for (String dir : dirs) {
            assertThat(mounts).as(dir + " is a volume").containsKey(dir);
        }
        Map<String, JsonNode> volumes = new HashMap<>();
        pod.path("volumes").forEach(v -> volumes.put(v.path("name").asText(), v));
        assertThat(volumes.get("config").path("configMap").path("name").asText()).isEqualTo(configMap);
        assertThat(volumes.get(mounts.get(c.imageRoot().toString())).has("persistentVolumeClaim"))
                .as("images on a claim every pod can share").isTrue();

        // requests from the pool's sizing rule: the file sets max-appliances (the host's free memory is not the pod's)
        PoolConfig pool = c.pool();
        assertThat(pool.maxAppliances()).as("max-appliances set in deploy/guestflow.properties").isPositive();
        JsonNode resources = container.path("resources");
        assertThat(resources.path("requests").path("memory").asText()).isEqualTo(pool.hostMemoryMb(pool.maxAppliances()) + "Mi");
        assertThat(resources.path("limits").path("memory").asText()).isEqualTo(pool.hostMemoryMb(pool.maxAppliances()) + "Mi");
        assertThat(resources.path("requests").path("cpu").asText()).isEqualTo(Integer.toString(pool.maxAppliances() * pool.smp()));
        assertThat(container.toString()).as("KVM is optional: only the deploy/kvm overlay asks for it").doesNotContain("kvm");
        JsonNode kvm = yaml("deploy/kvm/kustomization.yaml");
        assertThat(kvm.path("resources").get(0).asText()).isEqualTo("../");
        assertThat(kvm.path("patches").get(0).path("patch").asText()).contains("devices.kubevirt.io~1kvm");
    }

    @Test
    void kedaScalesTheDeploymentOnTheJobsTopicLagUpToOnePodPerConsumersPartitions() throws Exception {
        JsonNode scaled = yaml("deploy/scaledobject.yaml");
        JsonNode deployment = yaml("deploy/deployment.yaml");
        EngineConfig c = EngineConfig.from(containerConfig(Map.of("GUESTFLOW_ENGINE_BOOTSTRAP_SERVERS", "kafka:9092")));
        assertThat(scaled.path("spec").path("scaleTargetRef").path("name").asText())
                .isEqualTo(deployment.path("metadata").path("name").asText());
        JsonNode trigger = scaled.path("spec").path("triggers").get(0);
        assertThat(trigger.path("type").asText()).isEqualTo("kafka");
        assertThat(trigger.path("metadata").path("consumerGroup").asText()).isEqualTo(c.groupId());
        assertThat(trigger.path("metadata").path("topic").asText()).isEqualTo(c.topics().jobs());
        assertThat(trigger.path("metadata").path("bootstrapServers").asText()).isEqualTo(c.bootstrapServers());
        int perPod = c.consumers() > 0 ? c.consumers() : c.pool().maxAppliances();
        assertThat(scaled.path("spec").path("maxReplicaCount").asInt() * perPod)
                .as("consumers over all pods at most the jobs topic's partitions").isLessThanOrEqualTo(c.jobPartitions());
    }

    /** A compose mount without its mode: SOURCE:TARGET (the source may hold ${VAR:-default}). */
    private static String withoutMode(String mount) {
        return mount.endsWith(":ro") || mount.endsWith(":rw") ? mount.substring(0, mount.length() - 3) : mount;
    }

    private static String target(String mount) {
        String m = withoutMode(mount);
        return m.substring(m.lastIndexOf(':') + 1);
    }

    private static String source(String mount) {
        String m = withoutMode(mount);
        return m.substring(0, m.lastIndexOf(':'));
    }

    private static long seconds(String compose) {
        assertThat(compose).matches("\\d+s");
        return Long.parseLong(compose.substring(0, compose.length() - 1));
    }
}
