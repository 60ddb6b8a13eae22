package io.guestflow.processors.sysprep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.processors.job.JobRejectedException;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Operation selection and option checks: everything decided before an appliance exists. */
class SysprepOptionsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode json(String s) throws Exception {
        return (ObjectNode) JSON.readTree(s);
    }

    private static List<String> names(List<SysprepOperation> ops) {
        return ops.stream().map(SysprepOperation::name).toList();
    }

    @Test
    void theRegistryHasVirtSysprepsOperationsWithTheirDefaults() {
        assertThat(SysprepOperations.all()).hasSize(43);
        assertThat(SysprepOperations.defaults()).hasSize(37);
        assertThat(names(SysprepOperations.all().stream().filter(o -> !o.enabledByDefault()).toList()))
                .containsExactly("ca-certificates", "firewall-rules", "flag-reconfiguration", "fs-uuids",
                        "kerberos-data", "user-account");
    }

    @Test
    void customizeRunsLastAndTheRestByName() {
        List<String> order = names(SysprepOperations.defaults());
        assertThat(order.get(order.size() - 1)).isEqualTo("customize");
        assertThat(order.subList(0, order.size() - 1)).isSorted();
    }

    @Test
    void adjustmentsStartFromTheDefaults() {
        List<String> ops = names(SysprepOperations.select(List.of("+user-account", "-logfiles")));
        assertThat(ops).contains("user-account", "ssh-hostkeys").doesNotContain("logfiles").hasSize(37);
    }

    @Test
    void anExplicitListStartsEmptyAndAppliesInOrder() {
        assertThat(names(SysprepOperations.select(List.of("ssh-hostkeys", "machine-id"))))
                .containsExactly("machine-id", "ssh-hostkeys");
        assertThat(names(SysprepOperations.select(List.of("firewall-rules", "defaults", "-tmp-files"))))
                .contains("firewall-rules").doesNotContain("tmp-files").hasSize(37);
        assertThat(SysprepOperations.select(List.of("all"))).hasSize(43);
    }

    @Test
    void anUnknownOperationIsRejectedWithTheValidNames() throws Exception {
        assertThatThrownBy(() -> SysprepOptions.parse("j1", json("{\"operations\": [\"ssh-hostkey\"]}"), false))
                .isInstanceOf(JobRejectedException.class)
                .hasMessageContaining("unknown sysprep operation 'ssh-hostkey'")
                .hasMessageContaining("ssh-hostkeys").hasMessageContaining("yum-uuid");
    }

    @Test
    void optionsAreChecked() throws Exception {
        assertThatThrownBy(() -> SysprepOptions.parse("j", json("{\"hostname\": \"bad host\"}"), false))
                .hasMessageContaining("hostname");
        assertThatThrownBy(() -> SysprepOptions.parse("j", json("{\"timezone\": \"../../etc/passwd\"}"), false))
                .hasMessageContaining("timezone");
        assertThatThrownBy(() -> SysprepOptions.parse("j", json("{\"dryrun\": true}"), false))
                .hasMessageContaining("no option 'dryrun'");
        assertThatThrownBy(() -> SysprepOptions.parse("j", json("{\"removeUserAccounts\": [\"bob\"]}"), false))
                .hasMessageContaining("'user-account' operation is not enabled");
        assertThatThrownBy(() -> SysprepOptions.parse("j",
                json("{\"sshInjectKeys\": [{\"user\": \"root\", \"key\": \"not a key\"}]}"), false))
                .hasMessageContaining("OpenSSH public key");
    }

    @Test
    void anOperationsOwnOptionsAreParsedAndCheckedFromItsDeclaration() throws Exception {
        assertThat(SysprepOptions.declared()).extracting(OperationOption::field)
                .containsExactly("removeUserAccounts", "keepUserAccounts");
        SysprepOptions o = SysprepOptions.parse("j", json("{\"operations\": \"+user-account\","
                + " \"removeUserAccounts\": \"alice,bob\", \"keepUserAccounts\": [\"bob\"]}"), false);
        assertThat(o.values(io.guestflow.processors.sysprep.ops.UserAccount.REMOVE)).containsExactly("alice", "bob");
        assertThat(o.values(io.guestflow.processors.sysprep.ops.UserAccount.KEEP)).containsExactly("bob");
        assertThatThrownBy(() -> SysprepOptions.parse("j",
                json("{\"operations\": \"+user-account\", \"keepUserAccounts\": [\"Bad User\"]}"), false))
                .hasMessage("option 'keepUserAccounts': invalid user name 'Bad User'");
        assertThatThrownBy(() -> SysprepOptions.parse("j", json("{\"keepUserAccounts\": [\"bob\"]}"), false))
                .hasMessageContaining("removeUserAccounts/keepUserAccounts were given, but the 'user-account' operation");
    }

    /** config/schemas/job.schema.json names every sysprep option: the declared ones too, and no other. */
    @Test
    void theJobSchemaNamesEverySysprepOption() throws Exception {
        Path schema = Path.of(System.getProperty("guestflow.repo", "..")).resolve("config/schemas/job.schema.json");
        String described = JSON.readTree(schema.toFile()).path("properties").path("options").path("description").asText();
        Matcher m = Pattern.compile("sysprep: \\{([^}]*)}").matcher(described);
        assertThat(m.find()).as("the options' description in " + schema + " lists sysprep's").isTrue();
        assertThat(new TreeSet<>(List.of(m.group(1).split(",\\s*")))).isEqualTo(SysprepOptions.names());
    }

    @Test
    void hostScriptsNeedTheConfigurationSwitch() throws Exception {
        ObjectNode o = json("{\"scripts\": [\"touch etc/sealed\"]}");
        assertThatThrownBy(() -> SysprepOptions.parse("j", o, false))
                .hasMessageContaining("guestflow.engine.sysprep-host-scripts=true");
        assertThat(SysprepOptions.parse("j", o, true).scripts()).containsExactly("touch etc/sealed");
    }

    @Test
    void theRootPasswordNeverAppearsInToString() throws Exception {
        SysprepOptions o = SysprepOptions.parse("j", json("{\"rootPassword\": \"hunter2-secret\"}"), false);
        assertThat(o.rootPassword()).isEqualTo("hunter2-secret");
        assertThat(o.toString()).doesNotContain("hunter2").contains("(secret)");
    }

    @Test
    void theDocumentedExampleJobIsValid() throws Exception {
        byte[] raw = java.nio.file.Files.readAllBytes(java.nio.file.Path.of("../config/examples/sysprep.json"));
        var registry = io.guestflow.processors.JobOperations.defaults();
        var job = new io.guestflow.processors.job.JobParser(registry).parse(raw);
        registry.get("sysprep").validate(job);
        SysprepOptions o = SysprepOptions.parse(job.jobId(), job.options(), false);
        assertThat(names(o.operations())).contains("user-account").doesNotContain("logfiles");
        assertThat(o.sshInjectKeys()).hasSize(1);
    }
}
