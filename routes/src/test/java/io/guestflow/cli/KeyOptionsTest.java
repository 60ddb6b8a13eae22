package io.guestflow.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import io.guestflow.engine.Engine;
import io.guestflow.pool.LuksKey;
import io.guestflow.processors.job.Job;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** --key and --keys-from-stdin, in the virt tools' syntax, on the commands that open a guest. */
class KeyOptionsTest {
    private static final String SECRET = "hunter2-on-the-command-line";

    @TempDir
    Path dir;

    private static KeyOptions parsed(String command, String... args) {
        CommandLine cli = GuestflowCli.commandLine();
        String[] all = new String[args.length + 2];
        all[0] = command;
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "/images/a.qcow2";
        CommandLine.ParseResult r = cli.parseArgs(all);
        Object cmd = r.subcommand().commandSpec().userObject();
        try {
            return (KeyOptions) cmd.getClass().getDeclaredField("keyOptions").get(cmd);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(command + " has no keyOptions", e);
        }
    }

    private static Job job() {
        return new Job("local-1", "inspect", List.of(new Job.Disk("/images/a.qcow2", null, null)), null, null, 60,
                Map.of(), false);
    }

    @Test
    void theCommandsThatOpenAGuestTakeKeysAndResizeAndInfoDoNot() {
        CommandLine cli = GuestflowCli.commandLine();
        for (String name : List.of("inspect", "sysprep", "sparsify", "journal", "pipeline")) {
            CommandLine.Model.CommandSpec spec = cli.getSubcommands().get(name).getCommandSpec();
            assertThat(spec.findOption("--key")).as(name).isNotNull();
            assertThat(spec.findOption("--keys-from-stdin")).as(name).isNotNull();
        }
        for (String name : List.of("resize", "info")) {
            assertThat(cli.getSubcommands().get(name).getCommandSpec().findOption("--key")).as(name).isNull();
        }
        assertThat(cli.getSubcommands().get("submit").getCommandSpec().findOption("--key")).isNotNull();
    }

    @Test
    void fileKeysReachTheJobAndAreReadFromAnyFileTheUserNames() throws Exception {
        Path k1 = Files.writeString(dir.resolve("root.key"), "pass-one\nignored\n");
        Path k2 = Files.writeString(dir.resolve("all.key"), "pass:two");
        KeyOptions o = parsed("inspect", "--key", "/dev/sda2:file:" + k1, "--key", "all:file:" + k2);
        Job job = o.attach(job());
        assertThat(job.keys()).containsExactly(new Job.Key("/dev/sda2", k1.toString()), new Job.Key("all", k2.toString()));
        assertThat(o.keys(job)).containsExactly(new LuksKey("/dev/sda2", "pass-one"), new LuksKey("all", "pass:two"));
        // a UUID selector; a path may hold colons
        assertThat(KeyOptions.parse("0b3f6c2e-9d4a-4c1e-8f7b-2a5d6e8f9a01:file:/a:b"))
                .isEqualTo(new Job.Key("0b3f6c2e-9d4a-4c1e-8f7b-2a5d6e8f9a01", "/a:b"));
    }

    @Test
    void aKeyOnTheCommandLineIsRefusedWithoutRepeatingIt() {
        StringWriter err = new StringWriter();
        CommandLine cli = GuestflowCli.commandLine();
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("inspect", "--key", "/dev/sda2:key:" + SECRET, "/images/a.qcow2");
        assertThat(code).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("visible to every user of the machine").contains("--keys-from-stdin")
                .doesNotContain(SECRET);
        for (String bad : List.of("all:key:" + SECRET, "/dev/sda2:clevis", "sda2:file:/k", "all:file:", "all",
                "/dev/sda2:" + SECRET)) {
            IllegalArgumentException e = catchThrowableOfType(IllegalArgumentException.class, () -> KeyOptions.parse(bad));
            assertThat(e).as(bad).isNotNull();
            assertThat(e.getMessage()).as(bad).doesNotContain(SECRET);
        }
        assertThat(catchThrowableOfType(IllegalArgumentException.class, () -> parsed("journal", "--key", "all:file:/a",
                "--key", "all:file:/b").attach(job()))).hasMessageContaining("one key per device selector");
    }

    @Test
    void keysFromStdinAreAllKeysInOrder() {
        KeyOptions o = parsed("sysprep", "--keys-from-stdin");
        o.stdin = () -> new ByteArrayInputStream("first\n\nsecond\r\n".getBytes(StandardCharsets.UTF_8));
        List<LuksKey> keys = o.keys(o.attach(job()));
        assertThat(keys).containsExactly(new LuksKey("all", "first"), new LuksKey("all", "second"));
        // read once: a second launch of the same job gets the same keys
        assertThat(o.keys(job())).isEqualTo(keys);
        KeyOptions none = parsed("sparsify", "--keys-from-stdin");
        none.stdin = () -> new ByteArrayInputStream(new byte[0]);
        assertThat(catchThrowableOfType(IllegalArgumentException.class, () -> none.keys(job())))
                .hasMessageContaining("stdin held no key");
    }

    @Test
    void submitPutsTheReferenceInTheJobAndNeverReadsTheFile() throws Exception {
        CommandLine cli = GuestflowCli.commandLine();
        cli.parseArgs("submit", "-t", "inspect", "-d", "/images/a.qcow2", "--key", "/dev/sda2:file:web/root.key");
        SubmitCommand submit = cli.getSubcommands().get("submit").getCommand();
        Method build = SubmitCommand.class.getDeclaredMethod("buildJob", com.fasterxml.jackson.databind.ObjectMapper.class,
                String.class, List.class);
        build.setAccessible(true);
        JsonNode job = (JsonNode) build.invoke(submit, Engine.json(), "j1", List.of("/images/a.qcow2"));
        assertThat(job.get("keys").toString()).isEqualTo("[{\"device\":\"/dev/sda2\",\"file\":\"web/root.key\"}]");
        assertThat(catchThrowableOfType(CommandLine.ParameterException.class, () -> GuestflowCli.commandLine()
                .parseArgs("submit", "-t", "inspect", "-d", "/a", "--key", "all:key:" + SECRET)).getMessage())
                .contains("visible to every user").doesNotContain(SECRET);
    }
}
