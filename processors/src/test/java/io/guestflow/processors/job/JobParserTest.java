package io.guestflow.processors.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.guestflow.processors.JobOperations;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JobParserTest {
    private final JobParser parser = new JobParser(JobOperations.defaults());

    private Job parse(String json) {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private JobRejectedException rejected(String json) {
        JobRejectedException e = catchThrowableOfType(JobRejectedException.class, () -> parse(json));
        assertThat(e).as("should reject %s", json).isNotNull();
        return e;
    }

    @Test
    void validInspectJobWithDefaults() {
        Job j = parse("""
                {"jobId":"b7c1-01","type":"inspect","disks":[{"uri":"file:///images/web01.qcow2","format":"qcow2"}],
                 "labels":{"team":"web"}}""");
        assertThat(j.jobId()).isEqualTo("b7c1-01");
        assertThat(j.disks()).hasSize(1);
        assertThat(j.timeoutSeconds()).isEqualTo(JobParser.DEFAULT_TIMEOUT_SECONDS);
        assertThat(j.labels()).containsEntry("team", "web");
        assertThat(j.options().isEmpty()).isTrue();
        assertThat(j.debug()).isFalse();
    }

    /** Messages that name no usable jobId cannot get a result: they are dead-lettered. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "not json at all|not JSON",
        "[1,2,3]|must be a JSON object",
        "\"just a string\"|must be a JSON object",
        "{\"type\":\"inspect\"}|jobId must be",
        "{\"jobId\":42,\"type\":\"inspect\"}|jobId must be",
        "{\"jobId\":\"../../etc\",\"type\":\"inspect\"}|jobId must be",
        "{\"jobId\":\"a\"} trailing|not JSON",
    })
    void unparseableMessagesHaveNoJobId(String json, String reason) {
        JobRejectedException e = rejected(json);
        assertThat(e.jobId()).isNull();
        assertThat(e.reason()).contains(reason);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"jobId\":\"j1\",\"type\":\"defrag\",\"disks\":[{\"uri\":\"/a.img\"}]}|unknown job type 'defrag'",
        "{\"jobId\":\"j1\",\"type\":\"pipeline\",\"disks\":[{\"uri\":\"/a.img\"}]}|a pipeline needs options.steps",
        "{\"jobId\":\"j1\",\"type\":\"pipeline\",\"disks\":[{\"uri\":\"/a.img\"}],\"steps\":[]}|a pipeline's steps go in options.steps",
        "{\"jobId\":\"j1\",\"type\":\"inspect\"}|disks must be a non-empty array",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[]}|disks must be a non-empty array",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[\"/a.img\"]}|disks[0] must be an object",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"path\":\"/a.img\"}]}|disks[0]: unknown field 'path'",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"ftp://h/a.img\"}]}|unsupported URI scheme 'ftp'",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\",\"format\":\"qcow9\"}]}|unknown disk format 'qcow9'",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"timeoutSeconds\":\"60\"}|timeoutSeconds must be an integer",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"timeoutSeconds\":0}|timeoutSeconds must be an integer",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"options\":{\"applications\":\"yes\"}}|option 'applications' must be true or false",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"options\":{\"colour\":1}}|inspect has no option 'colour'",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"options\":[]}|options must be an object",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"labels\":{\"n\":1}}|label 'n' must be a string",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"priority\":1}|unknown field 'priority'",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"output\":{\"uri\":\"nbd://h/x\"}}|output must be a file:// path",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"steps\":[]}|steps are only for pipeline jobs",
        "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"debug\":\"on\"}|debug must be true or false",
    })
    void invalidJobsAreRejectedWithTheirId(String json, String reason) {
        JobRejectedException e = rejected(json);
        assertThat(e.jobId()).isEqualTo("j1");
        assertThat(e.reason()).contains(reason);
    }

    @Test
    void hugeMessageIsRejectedUnread() {
        byte[] big = new byte[JobParser.MAX_BYTES + 1];
        JobRejectedException e = catchThrowableOfType(JobRejectedException.class, () -> parser.parse(big));
        assertThat(e.jobId()).isNull();
        assertThat(e.reason()).contains("exceeds the limit");
    }

    @Test
    void deeplyNestedJsonIsRejected() {
        String deep = "{\"jobId\":\"j\",\"options\":" + "[".repeat(5000) + "]".repeat(5000) + "}";
        assertThat(rejected(deep).reason()).contains("not JSON");
    }

    @Test
    void jobIdsShapedLikeScanSummaryKeysAreRejected() {
        JobRejectedException e = rejected("""
                {"jobId":"scan-summary:nightly:20261126T010000Z","type":"inspect","disks":[{"uri":"file:///images/a.qcow2"}]}""");
        assertThat(e.reason()).contains("must not start with 'scan-summary:'");
        // the prefix only counts at the start
        assertThat(parse("""
                {"jobId":"my-scan-summary:1","type":"inspect","disks":[{"uri":"file:///images/a.qcow2"}]}""").jobId())
                .isEqualTo("my-scan-summary:1");
    }

    /** The last key must not silently win: not for jobId, type, nor anywhere inside. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"jobId\":\"a\",\"jobId\":\"b\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}]}|Duplicate field 'jobId'",
        "{\"jobId\":\"a\",\"type\":\"inspect\",\"type\":\"sysprep\",\"disks\":[{\"uri\":\"/a.img\"}]}|Duplicate field 'type'",
        "{\"jobId\":\"a\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\",\"uri\":\"/etc/shadow\"}]}|Duplicate field 'uri'",
        "{\"jobId\":\"a\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"options\":{\"applications\":true,\"applications\":false}}|Duplicate field 'applications'",
    })
    void duplicateKeysAreDeadLettered(String json, String reason) {
        JobRejectedException e = rejected(json);
        assertThat(e.jobId()).isNull();
        assertThat(e.reason()).contains(reason).contains("a key may appear once");
    }

    @Test
    void numbersOutOfRangeAreRejectedNotWrapped() {
        for (String t : new String[] {"18446744073709551621", "9223372036854775808", "-1", "4294967301", "1e3", "60.5"}) {
            JobRejectedException e = rejected("{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],"
                    + "\"timeoutSeconds\":" + t + "}");
            assertThat(e.reason()).as(t).contains("timeoutSeconds must be an integer from 1 to");
        }
    }

    @Test
    void theEnginesLongestTimeoutIsEnforcedAndCapsTheDefault() {
        JobParser strict = new JobParser(JobOperations.defaults(), 600, true);
        JobRejectedException e = catchThrowableOfType(JobRejectedException.class, () -> strict.parse(
                "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"timeoutSeconds\":601}"
                        .getBytes(StandardCharsets.UTF_8)));
        assertThat(e.reason()).contains("from 1 to 600").contains("max-job-timeout-seconds");
        assertThat(strict.parse("{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}]}"
                .getBytes(StandardCharsets.UTF_8)).timeoutSeconds()).isEqualTo(600);
    }

    @Test
    void debugJobsRunOnlyWhereTheConfigurationAllowsThem() {
        String json = "{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"debug\":true}";
        JobParser noDebug = new JobParser(JobOperations.defaults(), 3600, false);
        JobRejectedException e = catchThrowableOfType(JobRejectedException.class,
                () -> noDebug.parse(json.getBytes(StandardCharsets.UTF_8)));
        assertThat(e.jobId()).isEqualTo("j1");
        assertThat(e.reason()).contains("allow-debug-jobs");
        assertThat(parse(json).debug()).isTrue();
        assertThat(noDebug.parse(json.replace("true", "false").getBytes(StandardCharsets.UTF_8)).debug()).isFalse();
    }

    @Test
    void anOutputIsReplacedOnlyWhenTheJobSaysSo() {
        String base = "{\"jobId\":\"j1\",\"type\":\"resize\",\"disks\":[{\"uri\":\"/a.img\"}],\"output\":{\"uri\":\"/o.img\"";
        assertThat(parse(base + "}}").output().overwrite()).isFalse();
        assertThat(parse(base + ",\"overwrite\":true}}").output().overwrite()).isTrue();
        assertThat(rejected(base + ",\"overwrite\":\"yes\"}}").reason()).contains("output.overwrite must be true or false");
    }

    @Test
    void aPasswordInADiskUriIsRejectedAndNotRepeated() {
        JobRejectedException e = rejected("{\"jobId\":\"j1\",\"type\":\"inspect\",\"disks\":[{\"uri\":"
                + "\"https://admin:s3cr@t/x@cdn.example/d.img?token=abc\",\"format\":\"raw\"}]}");
        assertThat(e.reason()).doesNotContain("s3cr").doesNotContain("abc").doesNotContain("t/x");
    }

    /** Well-formed JSON naming URIs that are no local path: REJECTED with the reason, never another exception. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "file://host/x.qcow2|names a host",
        "file:///x.qcow2?q=1|has a query",
        "file:///x.qcow2#f|has a fragment",
        "file:///x%00.qcow2|NUL byte",
        "/images/x\\u0000.qcow2|NUL byte",
    })
    void diskUrisThatAreNoPathAreRejectedWithTheirJobId(String uri, String reason) {
        JobRejectedException e = rejected("{\"jobId\":\"u1\",\"type\":\"info\",\"disks\":[{\"uri\":\"" + uri + "\"}]}");
        assertThat(e.jobId()).isEqualTo("u1");
        assertThat(e.reason()).contains(reason);
    }

    @Test
    void rerunIsABooleanAndOffByDefault() {
        assertThat(parse("{\"jobId\":\"r1\",\"type\":\"info\",\"disks\":[{\"uri\":\"/a.img\"}]}").rerun()).isFalse();
        assertThat(parse("{\"jobId\":\"r1\",\"type\":\"info\",\"disks\":[{\"uri\":\"/a.img\"}],\"rerun\":true}").rerun())
                .isTrue();
        assertThat(rejected("{\"jobId\":\"r1\",\"type\":\"info\",\"disks\":[{\"uri\":\"/a.img\"}],\"rerun\":\"yes\"}")
                .reason()).contains("rerun must be true or false");
    }

    @Test
    void infoTakesRemoteDisksButNoOutput() throws Exception {
        // remote disks are the image probe's to check (allowed hosts), at run time
        assertThat(parse("{\"jobId\":\"i1\",\"type\":\"info\",\"disks\":[{\"uri\":\"nbd://h/x\",\"format\":\"raw\"}]}")
                .disks()).hasSize(1);
        assertThat(parser.parse(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("../config/examples/info-remote.json")))
                .disks()).hasSize(2);
        assertThat(rejected("{\"jobId\":\"i1\",\"type\":\"info\",\"disks\":[{\"uri\":\"/a.img\"}],"
                + "\"output\":{\"uri\":\"/b.img\"}}").reason()).contains("no output");
        assertThat(rejected("{\"jobId\":\"i1\",\"type\":\"info\",\"disks\":[{\"uri\":\"/a.img\"}],"
                + "\"options\":{\"deep\":true}}").reason()).contains("info has no option 'deep'");
        assertThat(rejected("{\"jobId\":\"p1\",\"type\":\"pipeline\",\"disks\":[{\"uri\":\"/a.img\"}],"
                + "\"options\":{\"steps\":[{\"type\":\"info\"}]}}").reason()).contains("'info' is not a step type");
    }

    @Test
    void theInfoExampleIsAValidJob() throws Exception {
        Job j = parser.parse(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("../config/examples/info.json")));
        assertThat(j.type()).isEqualTo("info");
        assertThat(j.disks()).hasSize(2);
    }

    /** The schema says null is absent for every optional field: the parser takes such a job as the schema does. */
    @Test
    void nullOptionalFieldsAreAbsent() throws Exception {
        String json = "{\"jobId\":\"n1\",\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\",\"format\":null,\"label\":null}],"
                + "\"output\":null,\"options\":null,\"timeoutSeconds\":null,\"labels\":null,\"debug\":null,\"rerun\":null}";
        assertThat(JobSchema.check(new com.fasterxml.jackson.databind.ObjectMapper().readTree(json))).isEmpty();
        Job j = parse(json);
        assertThat(j.output()).isNull();
        assertThat(j.options().isEmpty()).isTrue();
        assertThat(j.timeoutSeconds()).isEqualTo(JobParser.DEFAULT_TIMEOUT_SECONDS);
        assertThat(j.disks().get(0).format()).isNull();
        assertThat(j.debug()).isFalse();
    }

    /** The schema's refusals, in words that name the field and what it must be. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\",\"format\":\"qcow9\"}]|disks[0].format: unknown disk format 'qcow9' (known: [raw, qcow2,",
        "\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"output\":{\"uri\":\"/b.img\",\"format\":\"qcow9\"}|output.format: unknown disk format 'qcow9'",
        "\"type\":\"defrag\",\"disks\":[{\"uri\":\"/a.img\"}]|unknown job type 'defrag' (known: [info, inspect,",
        "\"type\":5,\"disks\":[{\"uri\":\"/a.img\"}]|type must be a non-empty string",
        "\"disks\":[{\"uri\":\"/a.img\"}]|type is required",
        "\"type\":\"inspect\",\"disks\":[{\"uri\":\"  \"}]|disks[0].uri must be a non-empty string",
        "\"type\":\"inspect\",\"disks\":[{\"uri\":null}]|disks[0].uri is required",
        "\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\",\"label\":\"sda-1\"}]|disks[0].label must be 1-20 ASCII letters",
        "\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"output\":{}|output.uri is required",
        "\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"output\":{\"uri\":\"/b.img\",\"mode\":1}|output: unknown field 'mode'",
        "\"type\":\"inspect\",\"disks\":[{\"uri\":\"/a.img\"}],\"labels\":[]|labels must be an object of strings",
    })
    void schemaRefusalsNameTheFieldAndWhy(String fields, String reason) {
        assertThat(rejected("{\"jobId\":\"s1\"," + fields + "}").reason()).startsWith(reason);
    }

    /** The engine checks jobs against the schema the documentation shows: the build packages config/schemas. */
    @Test
    void theSchemaOnTheClasspathIsConfigSchemas() throws Exception {
        try (java.io.InputStream in = JobSchema.class.getResourceAsStream(JobSchema.RESOURCE)) {
            assertThat(in).as(JobSchema.RESOURCE).isNotNull();
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo(java.nio.file.Files.readString(java.nio.file.Path.of("../config/schemas/job.schema.json")));
        }
        com.fasterxml.jackson.databind.JsonNode schema = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(java.nio.file.Path.of("../config/schemas/job.schema.json").toFile());
        assertThat(schema.at("/properties/disks/maxItems").asInt()).isEqualTo(JobParser.MAX_DISKS);
        assertThat(schema.at("/properties/timeoutSeconds/maximum").asInt()).isEqualTo(JobParser.MAX_TIMEOUT_SECONDS);
        assertThat(schema.at("/properties/jobId/pattern").asText()).isEqualTo("^" + JobParser.JOB_ID.pattern() + "$");
        java.util.Set<String> types = new java.util.TreeSet<>();
        schema.at("/properties/type/enum").forEach(t -> types.add(t.asText()));
        assertThat(types).isEqualTo(new java.util.TreeSet<>(io.guestflow.processors.JobOperations.defaults().supported()));
    }

    /** Every example job satisfies the schema and parses (paths are only checked when a job runs). */
    @Test
    void everyExampleJobSatisfiesTheSchema() throws Exception {
        try (var files = java.nio.file.Files.list(java.nio.file.Path.of("../config/examples"))) {
            for (java.nio.file.Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                byte[] raw = java.nio.file.Files.readAllBytes(f);
                assertThat(JobSchema.check(new com.fasterxml.jackson.databind.ObjectMapper().readTree(raw))).as(f.toString()).isEmpty();
                assertThat(parser.parse(raw).jobId()).as(f.toString()).isNotBlank();
            }
        }
    }
}
