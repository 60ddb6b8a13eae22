package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.guestflow.pool.FifoCanary;
import io.guestflow.pool.FileTrees;
import io.guestflow.pool.PoolMetrics;
import io.guestflow.pool.QemuImgRun;
import io.guestflow.processors.job.OutputClaim;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Guests and job producers as attackers, through the engine on a real
 * broker: every crafted image ({@link HostileImages}) and every crafted job
 * message below is REJECTED or dead-lettered with its specific reason, and
 * no appliance is launched for any of them (the pool counts launches, and
 * its launch timeout is one second with TCG, so an image that slipped
 * through would show up as a launch failure instead of costing a boot).
 * Nothing outside the roots is opened (FIFO canaries) or created, no secret
 * a job carries reaches a result, an event or a dead-letter reason, and the
 * consumer keeps consuming. No appliance, no lock needed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileInputTest {
    private static final String SECRET = "hunter2";
    private static final String TOKEN = "tok3n";

    private Path work;
    private Path root;
    private Path outside;
    private Path out;
    private Path tmpRoot;
    private HostileImages images;
    private TestEngine engine;

    /** What must come of one message: a result with this code and reason, or a dead letter with this reason. */
    private record Expect(String what, boolean deadLetter, String code, String reason) {
    }

    private final Map<String, String> messages = new LinkedHashMap<>();
    private final Map<String, Expect> expected = new LinkedHashMap<>();

    @BeforeAll
    void start() throws Exception {
        work = Files.createTempDirectory("guestflow-hostile");
        root = Files.createDirectories(work.resolve("images"));
        outside = Files.createDirectories(work.resolve("outside"));
        tmpRoot = Files.createDirectories(work.resolve("tmp"));
        Files.createDirectories(tmpRoot.resolve("mine"));
        Files.writeString(outside.resolve("secret.txt"), "not for guests\n");
        images = new HostileImages(root, outside).build();
        Map<String, String> props = new LinkedHashMap<>();
        props.put("guestflow.engine.tmp-root", tmpRoot.toString());
        props.put("guestflow.engine.max-job-timeout-seconds", "3600");
        props.put("guestflow.engine.max-attempts", "1");
        // chains are followed (and must stay under the root) rather than refused at their first link
        props.put("guestflow.pool.allow-backing-files", "true");
        props.put("guestflow.pool.max-image-size-gib", "1024");
        // the hosts of the remote cases below: what they test comes after the host check (format, writes)
        props.put("guestflow.pool.remote-hosts", "cdn.example,storage.example:10809");
        // a hypervisor that cannot start in time: anything that got through would fail its launch within a second
        props.put("guestflow.pool.acceleration", "tcg");
        props.put("guestflow.pool.launch-timeout-seconds", "1");
        engine = TestEngine.start(root, work, props);
        out = work.resolve("out");
    }

    @AfterAll
    void stop() throws Exception {
        if (engine != null) {
            engine.close();
        }
        if (images != null) {
            images.close();
        }
        FileTrees.delete(work);
    }

    private void result(String jobId, String message, String what, String code, String reason) {
        messages.put(jobId, message);
        expected.put(jobId, new Expect(what, false, code, reason));
    }

    private void deadLetter(String key, String message, String what, String reason) {
        messages.put(key, message);
        expected.put(key, new Expect(what, true, null, reason));
    }

    private static String disk(Path p) {
        return "{\"uri\":\"" + p.toUri() + "\"}";
    }

    private static String job(String id, String type, String disks, String more) {
        return "{\"jobId\":\"" + id + "\",\"type\":\"" + type + "\",\"disks\":[" + disks + "]" + (more.isEmpty() ? "" : "," + more) + "}";
    }

    /** The image cases, each under a job type of its own, so every type meets the image policy. */
    private void imageJobs() {
        String[][] types = {{"inspect", ""}, {"journal", ""}, {"sysprep", "\"options\":{\"dryRun\":true}"},
            {"sparsify", "\"options\":{\"inPlace\":true}"}, {"resize", "\"options\":{\"dryRun\":true,\"size\":\"+1G\"}"},
            {"pipeline", "\"options\":{\"steps\":[{\"type\":\"inspect\"}]}"}};
        int i = 0;
        for (HostileImages.Case c : images.cases) {
            String id = String.format("img-%02d", i);
            String[] t = types[i % types.length];
            String d = "{\"uri\":\"" + c.disk().toUri() + "\"" + (c.format() == null ? "" : ",\"format\":\"" + c.format() + "\"") + "}";
            String more = t[1];
            if (i == 0) {
                // labels are the producer's text and come back in the result: the secret in them must not
                more = "\"labels\":{\"source\":\"https://admin:" + SECRET + "@cdn.example/x?token=" + TOKEN + "\"}";
            }
            result(id, job(id, t[0], d, more), c.name() + " (" + t[0] + ")", c.code(), c.reason());
            i++;
        }
    }

    private void deadLetters() {
        deadLetter("dlq-01", "not json at all", "not JSON", "not JSON");
        deadLetter("dlq-02", "{\"jobId\":\"a\",\"type\":", "cut JSON", "not JSON");
        deadLetter("dlq-03", "[1,2]", "an array", "must be a JSON object");
        deadLetter("dlq-04", "\"inspect\"", "a string", "must be a JSON object");
        deadLetter("dlq-05", "42", "a number", "must be a JSON object");
        deadLetter("dlq-06", "null", "null", "must be a JSON object");
        deadLetter("dlq-07", "", "an empty message", "empty message");
        deadLetter("dlq-08", "{\"jobId\":\"big\",\"pad\":\"" + "x".repeat(300_000) + "\"}", "a 300 KB message", "exceeds the limit");
        deadLetter("dlq-09", "{\"jobId\":\"j\",\"options\":" + "[".repeat(3000) + "]".repeat(3000) + "}", "deep nesting", "not JSON");
        deadLetter("dlq-10", "{\"jobId\":\"a\",\"jobId\":\"b\",\"type\":\"inspect\",\"disks\":[]}", "two jobIds",
                "Duplicate field 'jobId'");
        deadLetter("dlq-11", "{\"jobId\":\"a\",\"type\":\"inspect\",\"type\":\"sysprep\"}", "two types", "Duplicate field 'type'");
        deadLetter("dlq-12", "{\"jobId\":\"a\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/x\",\"uri\":\"/etc/shadow\"}]}",
                "two uris in a disk", "Duplicate field 'uri'");
        deadLetter("dlq-13", "{\"jobId\":\"a\",\"type\":\"inspect\",\"disks\":[],\"options\":{\"a\":1,\"a\":2}}",
                "two keys in options", "Duplicate field 'a'");
        deadLetter("dlq-14", "{\"type\":\"inspect\",\"disks\":[]}", "no jobId", "jobId must be");
        deadLetter("dlq-15", "{\"jobId\":42}", "a numeric jobId", "jobId must be");
        deadLetter("dlq-16", "{\"jobId\":\"../../etc/passwd\"}", "a path as jobId", "jobId must be");
        deadLetter("dlq-17", "{\"jobId\":\"a\\nb\"}", "a newline in the jobId", "jobId must be");
        deadLetter("dlq-18", "{\"jobId\":\"" + "a".repeat(200) + "\"}", "a 200-character jobId", "jobId must be");
        deadLetter("dlq-19", "{\"jobId\":\"scan-summary:x:1\",\"type\":\"inspect\"}", "a scan summary's key", "must not start with");
        deadLetter("dlq-20", "{\"jobId\":\"a\"} trailing", "trailing garbage", "not JSON");
        deadLetter("dlq-21", SECRET + TOKEN + " is not a job", "a secret as the message", "not JSON");
    }

    private void badJobs() throws Exception {
        Path ok = root.resolve("ok.qcow2");
        QemuImgRun.qemuImg("create", "-q", "-f", "qcow2", ok.toString(), "16M");
        String d = disk(ok);
        int[] n = {0};
        java.util.function.BiConsumer<String[], String> r = (c, json) -> {
            String id = String.format("job-%02d", ++n[0]);
            result(id, json.replace("@ID@", id), c[0], c.length > 2 ? c[2] : "REJECTED", c[1]);
        };
        String jid = "\"jobId\":\"@ID@\"";
        // the parser
        r.accept(new String[] {"unknown type", "unknown job type 'defrag'"}, "{" + jid + ",\"type\":\"defrag\",\"disks\":[" + d + "]}");
        r.accept(new String[] {"no disks", "disks must be a non-empty array"}, "{" + jid + ",\"type\":\"inspect\"}");
        r.accept(new String[] {"disks as an object", "disks must be a non-empty array"}, "{" + jid + ",\"type\":\"inspect\",\"disks\":{}}");
        r.accept(new String[] {"17 disks", "at most 16 disks"}, "{" + jid + ",\"type\":\"inspect\",\"disks\":["
                + String.join(",", java.util.Collections.nCopies(17, d)) + "]}");
        r.accept(new String[] {"ftp disk", "unsupported URI scheme 'ftp'"}, job("@ID@", "inspect", "{\"uri\":\"ftp://h/x.img\"}", ""));
        r.accept(new String[] {"gopher disk with a password", "unsupported URI scheme 'gopher'"},
                job("@ID@", "inspect", "{\"uri\":\"gopher://u:" + SECRET + "@h/x\"}", ""));
        r.accept(new String[] {"https disk with a password", "carries a password"},
                job("@ID@", "inspect", "{\"uri\":\"https://admin:" + SECRET + "@cdn.example/d.img\",\"format\":\"raw\"}", ""));
        r.accept(new String[] {"https disk with a password holding @", "names no host"}, job("@ID@", "inspect",
                "{\"uri\":\"https://admin:x@" + SECRET + "@cdn.example/d.img?token=" + TOKEN + "\",\"format\":\"raw\"}", ""));
        r.accept(new String[] {"https disk with a query token and no format", "must name its format", "INVALID_DRIVE"},
                job("@ID@", "inspect", "{\"uri\":\"https://cdn.example/d.img?X-Amz-Signature=" + TOKEN + "\"}", ""));
        r.accept(new String[] {"remote qcow2 (its backing file could be a host file)", "only raw remote drives", "IMAGE_REFUSED"},
                job("@ID@", "inspect", "{\"uri\":\"nbd://storage.example:10809/web02\",\"format\":\"qcow2\"}", ""));
        r.accept(new String[] {"unknown format", "unknown disk format 'qcow9'"},
                job("@ID@", "inspect", "{\"uri\":\"" + ok.toUri() + "\",\"format\":\"qcow9\"}", ""));
        r.accept(new String[] {"bad label", "1-20 ASCII letters"}, job("@ID@", "inspect", "{\"uri\":\"" + ok.toUri() + "\",\"label\":\"sda-1\"}", ""));
        for (String t : new String[] {"18446744073709551621", "3601", "0", "-5", "\"60\"", "60.5", "1e3"}) {
            r.accept(new String[] {"timeoutSeconds " + t, "timeoutSeconds must be an integer from 1 to 3600"},
                    job("@ID@", "inspect", d, "\"timeoutSeconds\":" + t));
        }
        r.accept(new String[] {"debug job", "allow-debug-jobs"}, job("@ID@", "inspect", d, "\"debug\":true"));
        r.accept(new String[] {"debug as text", "debug must be true or false"}, job("@ID@", "inspect", d, "\"debug\":\"yes\""));
        r.accept(new String[] {"unknown field", "unknown field 'priority'"}, job("@ID@", "inspect", d, "\"priority\":1"));
        r.accept(new String[] {"options as an array", "options must be an object"}, job("@ID@", "inspect", d, "\"options\":[]"));
        r.accept(new String[] {"numeric label", "label 'n' must be a string"}, job("@ID@", "inspect", d, "\"labels\":{\"n\":1}"));
        r.accept(new String[] {"steps outside a pipeline", "steps are only for pipeline jobs"}, job("@ID@", "inspect", d, "\"steps\":[]"));
        r.accept(new String[] {"nbd output", "output must be a file:// path"}, job("@ID@", "resize", d, "\"output\":{\"uri\":\"nbd://h/x\"}"));
        r.accept(new String[] {"overwrite as text", "output.overwrite must be true or false"},
                job("@ID@", "resize", d, "\"output\":{\"uri\":\"" + out.resolve("o.qcow2") + "\",\"overwrite\":\"yes\"}"));
        r.accept(new String[] {"unknown inspect option", "inspect has no option 'colour'"}, job("@ID@", "inspect", d, "\"options\":{\"colour\":1}"));
        r.accept(new String[] {"host scripts", "sysprep-host-scripts"},
                job("@ID@", "sysprep", d, "\"options\":{\"operations\":\"script\",\"scripts\":[\"cat /etc/shadow\"]}"));
        r.accept(new String[] {"bad hostname", "not a valid host name"}, job("@ID@", "sysprep", d, "\"options\":{\"hostname\":\"a;rm -rf /\"}"));
        r.accept(new String[] {"timezone traversal", "option 'timezone'"}, job("@ID@", "sysprep", d, "\"options\":{\"timezone\":\"../../etc/shadow\"}"));
        r.accept(new String[] {"sysprep of a remote disk", "unless guestflow.pool.remote-writes=true"},
                job("@ID@", "sysprep", "{\"uri\":\"https://cdn.example/d.img?token=" + TOKEN + "\",\"format\":\"raw\"}", ""));
        r.accept(new String[] {"in-place sparsify of a remote disk", "unless guestflow.pool.remote-writes=true"}, job("@ID@", "sparsify",
                "{\"uri\":\"nbd://storage.example/web02\",\"format\":\"raw\"}", "\"options\":{\"inPlace\":true}"));
        r.accept(new String[] {"a pipeline that seals a remote disk", "unless guestflow.pool.remote-writes=true"}, job("@ID@", "pipeline",
                "{\"uri\":\"nbd://storage.example/web02\",\"format\":\"raw\"}",
                "\"options\":{\"steps\":[{\"type\":\"inspect\"},{\"type\":\"sysprep\"}]}"));
        r.accept(new String[] {"disk on a host not allowed", "guestflow.pool.remote-hosts", "REMOTE_HOST_REFUSED"},
                job("@ID@", "inspect", "{\"uri\":\"https://evil.example/d.img?token=" + TOKEN + "\",\"format\":\"raw\"}", ""));
        r.accept(new String[] {"allowed host on another port", "names host STORAGE.example.:10810", "REMOTE_HOST_REFUSED"},
                job("@ID@", "info", "{\"uri\":\"nbd://STORAGE.example.:10810/web02\",\"format\":\"raw\"}", ""));
        r.accept(new String[] {"resize without output", "needs an output"}, job("@ID@", "resize", d, "\"options\":{\"size\":\"+1G\"}"));
        r.accept(new String[] {"resize onto its input", "must not be the input"},
                job("@ID@", "resize", d, "\"output\":{\"uri\":\"" + ok.toUri() + "\"},\"options\":{\"size\":\"+1G\"}"));
        r.accept(new String[] {"compressed raw", "compress needs a qcow2"}, job("@ID@", "sparsify", d,
                "\"output\":{\"uri\":\"" + out.resolve("c.img") + "\",\"format\":\"raw\"},\"options\":{\"compress\":true}"));
        r.accept(new String[] {"in-place with an output", "takes no output"}, job("@ID@", "sparsify", d,
                "\"output\":{\"uri\":\"" + out.resolve("i.qcow2") + "\"},\"options\":{\"inPlace\":true}"));
        r.accept(new String[] {"bad journal priority", "priority"}, job("@ID@", "journal", d, "\"options\":{\"priority\":\"loud\"}"));
        r.accept(new String[] {"a pipeline in a pipeline", "is not a step type"}, job("@ID@", "pipeline", d,
                "\"options\":{\"steps\":[{\"type\":\"pipeline\"}]}"));
        r.accept(new String[] {"relative tmpDir", "must be an absolute directory path"}, job("@ID@", "sparsify", d,
                "\"output\":{\"uri\":\"" + out.resolve("r.qcow2") + "\"},\"options\":{\"tmpDir\":\"tmp\"}"));
        // the path policy
        for (String p : new String[] {"/etc/passwd", root + "/../outside/secret.txt", "/proc/self/mem", "file:///etc/shadow",
            "images/ok.qcow2"}) {
            r.accept(new String[] {"disk " + p, "outside the allowed root"}, job("@ID@", "inspect", "{\"uri\":\"" + p + "\"}", ""));
        }
        r.accept(new String[] {"device disk", "device path"}, job("@ID@", "inspect", "{\"uri\":\"/dev/sda\"}", ""));
        String resize = "\"options\":{\"size\":\"+16M\"},\"output\":";
        Path target = outside.resolve("target.qcow2");
        r.accept(new String[] {"output outside the root", "outside the allowed root"},
                job("@ID@", "resize", d, resize + "{\"uri\":\"" + target + "\"}"));
        r.accept(new String[] {"output traversal", "outside the allowed root"},
                job("@ID@", "resize", d, resize + "{\"uri\":\"" + out + "/../outside/t.qcow2\"}"));
        Files.createSymbolicLink(out.resolve("link.qcow2"), target);
        r.accept(new String[] {"output through a symlink", "is a symbolic link"},
                job("@ID@", "resize", d, resize + "{\"uri\":\"" + out.resolve("link.qcow2") + "\",\"overwrite\":true}"));
        Files.write(out.resolve("existing.qcow2"), new byte[] {1});
        r.accept(new String[] {"existing output", "exists; it is replaced only when"},
                job("@ID@", "resize", d, resize + "{\"uri\":\"" + out.resolve("existing.qcow2") + "\"}"));
        r.accept(new String[] {"output in a missing folder", "does not exist"},
                job("@ID@", "resize", d, resize + "{\"uri\":\"" + out.resolve("nowhere/x.qcow2") + "\"}"));
        r.accept(new String[] {"output named like a temporary file", "temporary file"},
                job("@ID@", "resize", d, resize + "{\"uri\":\"" + out.resolve(".x.qcow2.123.part") + "\"}"));
        Files.createDirectories(out.resolve("adir"));
        r.accept(new String[] {"output is a folder", "not a regular file"},
                job("@ID@", "resize", d, resize + "{\"uri\":\"" + out.resolve("adir") + "\",\"overwrite\":true}"));
        String sparsify = "\"output\":{\"uri\":\"" + out.resolve("s.qcow2") + "\"},\"options\":{\"tmpDir\":";
        Files.createSymbolicLink(tmpRoot.resolve("escape"), outside);
        for (String t : new String[] {"/etc", outside.toString(), tmpRoot + "/../outside", tmpRoot.resolve("escape").toString()}) {
            r.accept(new String[] {"tmpDir " + t, "options.tmpDir " + t + " is outside the allowed root"},
                    job("@ID@", "sparsify", d, sparsify + "\"" + t + "\"}"));
        }
        r.accept(new String[] {"missing tmpDir", "does not exist"}, job("@ID@", "sparsify", d, sparsify + "\"" + tmpRoot.resolve("gone") + "\"}"));
        r.accept(new String[] {"tmpDir of a pipeline step", "options.steps[0].options.tmpDir /tmp is outside"}, job("@ID@", "pipeline", d,
                "\"output\":{\"uri\":\"" + out.resolve("p.qcow2") + "\"},\"options\":{\"steps\":[{\"type\":\"sparsify\",\"options\":{\"tmpDir\":\"/tmp\"}}]}"));
        // the output claim: this test holds it, as a running job of another engine would
        r.accept(new String[] {"output another job is writing", "being written by another job"},
                job("@ID@", "resize", d, resize + "{\"uri\":\"" + out.resolve("claimed.qcow2") + "\"}"));
    }

    @Test
    void everyHostileImageAndJobIsRefusedBeforeAnyLaunch() throws Exception {
        long t0 = System.nanoTime();
        imageJobs();
        deadLetters();
        badJobs();
        Map<String, String> outsideBefore = listing(outside);
        Map<String, String> tmpBefore = listing(tmpRoot);
        Map<String, String> outBefore = listing(out);
        assertThat(images.cases).as("crafted images").hasSizeGreaterThanOrEqualTo(30);
        assertThat(expected).as("crafted jobs").hasSizeGreaterThanOrEqualTo(100);

        try (OutputClaim held = OutputClaim.acquire("another-engine", out.resolve("claimed.qcow2"), false)) {
            engine.submitAll(messages);
            List<String> withResults = expected.entrySet().stream().filter(e -> !e.getValue().deadLetter())
                    .map(Map.Entry::getKey).toList();
            Map<String, JsonNode> results = engine.awaitResults(withResults, Duration.ofMinutes(3));
            SoftAssertions soft = new SoftAssertions();
            for (String id : withResults) {
                Expect x = expected.get(id);
                JsonNode r = results.get(id);
                String what = id + ": " + x.what() + " -> " + r.path("error");
                soft.assertThat(r.path("status").asText()).as(what).isEqualTo("REJECTED");
                soft.assertThat(r.path("error").path("code").asText()).as(what).isEqualTo(x.code());
                soft.assertThat(r.path("error").path("message").asText()).as(what).contains(x.reason());
                soft.assertThat(r.path("error").path("retryable").asBoolean()).as(what).isFalse();
                soft.assertThat(r.path("timings").has("launchMillis")).as("%s: no launch", what).isFalse();
            }
            soft.assertAll();
        }
        Map<String, String> reasons = deadLetterReasons(Duration.ofSeconds(60));
        for (Map.Entry<String, Expect> e : expected.entrySet()) {
            if (e.getValue().deadLetter()) {
                assertThat(reasons).as("dead letter %s: %s", e.getKey(), e.getValue().what()).containsKey(e.getKey());
                assertThat(reasons.get(e.getKey())).as("%s: %s", e.getKey(), e.getValue().what()).contains(e.getValue().reason());
            }
        }

        // the consumer is still consuming after all of it
        String last = job("last-one", "defrag", disk(root.resolve("ok.qcow2")), "");
        assertThat(engine.run("last-one", last, Duration.ofMinutes(1)).path("status").asText()).isEqualTo("REJECTED");

        PoolMetrics m = engine.engine().pool().metrics();
        assertThat(m.launches()).as("appliances launched").isZero();
        assertThat(m.launchFailures()).as("launches attempted").isZero();
        for (FifoCanary c : images.canaries) {
            assertThat(c.wasOpened()).as("%s opened", c.fifo()).isFalse();
        }
        assertThat(listing(outside)).as("nothing created or changed outside the roots").isEqualTo(outsideBefore);
        assertThat(listing(tmpRoot)).as("nothing created in the tmp root").isEqualTo(tmpBefore);
        assertThat(listing(out)).as("no output, temporary file or claim left").isEqualTo(outBefore);

        // no secret a job carried is in a result, an event or a dead letter's reason
        for (ConsumerRecord<String, byte[]> rec : engine.seen()) {
            if (rec.topic().equals(engine.topics().jobs()) || rec.value() == null) {
                continue;
            }
            String text = rec.topic().equals(engine.topics().dlq()) ? headers(rec) : new String(rec.value(), StandardCharsets.UTF_8);
            assertThat(text).as("%s record of %s", rec.topic(), rec.key()).doesNotContain(SECRET).doesNotContain(TOKEN);
        }
        assertThat(engine.values(engine.topics().results(), "img-00").get(0).path("labels").path("source").asText())
                .isEqualTo("https://***@cdn.example/x?***");
        System.out.printf("hostile input: %d images, %d messages, %.1f s, 0 launches%n", images.cases.size(),
                expected.size() + 1, (System.nanoTime() - t0) / 1e9);
    }

    private Map<String, String> deadLetterReasons(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long wanted = expected.values().stream().filter(Expect::deadLetter).count();
        while (true) {
            Map<String, String> reasons = new TreeMap<>();
            for (ConsumerRecord<String, byte[]> rec : engine.records(engine.topics().dlq())) {
                Header h = rec.headers().lastHeader("guestflow.reason");
                reasons.put(rec.key(), h == null ? "" : new String(h.value(), StandardCharsets.UTF_8));
            }
            if (reasons.size() >= wanted || System.nanoTime() > deadline) {
                return reasons;
            }
            engine.poll();
        }
    }

    private static String headers(ConsumerRecord<String, byte[]> rec) {
        StringBuilder b = new StringBuilder();
        for (Header h : rec.headers()) {
            b.append(h.key()).append('=').append(new String(h.value(), StandardCharsets.UTF_8)).append('\n');
        }
        return b.toString();
    }

    /** Every entry under {@code dir} with its type, size and modification time. */
    private static Map<String, String> listing(Path dir) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                var a = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                out.put(dir.relativize(p).toString(), (a.isOther() ? "other" : a.isSymbolicLink() ? "link" : a.isDirectory() ? "dir"
                        : "file " + a.size() + " " + a.lastModifiedTime()));
            }
        }
        return out;
    }
}
