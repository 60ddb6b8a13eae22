package io.guestflow.pool;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** The one redaction of text leaving the engine. */
class SecretsTest {
    @Test
    void userinfoQueriesAndKeyedSecretsAreMasked() {
        assertThat(Secrets.redact("https://u:p@h/x")).isEqualTo("https://***@h/x");
        // a password with '@' and '/' in it is masked whole
        assertThat(Secrets.redact("open https://admin:p@ss/w@rd@cdn.example/d.img failed"))
                .isEqualTo("open https://***@cdn.example/d.img failed");
        assertThat(Secrets.redact("https://cdn.example/d.img?X-Amz-Signature=abc&X-Amz-Credential=k"))
                .isEqualTo("https://cdn.example/d.img?***");
        // a trace shows the path of an http drive without its scheme
        assertThat(Secrets.redact("add_drive_opts \"/d.img?token=abc\" \"protocol:https\""))
                .isEqualTo("add_drive_opts \"/d.img?***\" \"protocol:https\"");
        assertThat(Secrets.redact("-drive file.url=\"https://h/x?sig=1\",file.user=u"))
                .doesNotContain("sig=1");
        assertThat(Secrets.redact("{\"password\":\"hunter2\"} password=hunter2 secret: x1")).doesNotContain("hunter2")
                .doesNotContain("x1");
        // ordinary text is left alone
        assertThat(Secrets.redact("is this a disk? yes: /images/web01.qcow2 (user@example.com)"))
                .isEqualTo("is this a disk? yes: /images/web01.qcow2 (user@example.com)");
    }

    @Test
    void everyTextOfAJsonTreeIsRedacted() throws Exception {
        ObjectMapper json = new ObjectMapper();
        var tree = json.readTree("{\"a\":\"ssh://u:pw@h/x\",\"b\":[\"https://h/y?t=1\",{\"c\":\"password=pw\"}],\"n\":1}");
        assertThat(Secrets.redact(tree).toString()).doesNotContain("pw").doesNotContain("t=1").contains("\"n\":1");
    }
}
