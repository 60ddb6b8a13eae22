package io.guestflow.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.guestflow.cli.ExitCodes;
import io.guestflow.cli.GuestflowCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** bin/guestflow's contract: help everywhere, documented exit codes, clear errors on stderr. */
class CliTest {
    @TempDir
    Path dir;

    private record Outcome(int exit, String out, String err) {
    }

    private static Outcome run(String... args) {
        CommandLine cl = GuestflowCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Outcome(exit, out.toString(), err.toString());
    }

    @Test
    void everyCommandHasHelp() {
        for (String[] args : new String[][] {{"--help"}, {"inspect", "--help"}, {"sample", "--help"}, {"sysprep", "--help"}}) {
            Outcome o = run(args);
            assertThat(o.exit()).as(String.join(" ", args)).isZero();
            assertThat(o.out()).contains("Usage:");
        }
        assertThat(run("--help").out()).contains("Exit codes:").contains("inspect");
        assertThat(run("inspect", "--help").out()).contains("--xml").contains("--format").contains("--verbose");
    }

    @Test
    void sysprepListsVirtSysprepsOperationsAndRejectsUnknownOnesBeforeLaunch() {
        Outcome list = run("sysprep", "--list-operations");
        assertThat(list.exit()).isZero();
        assertThat(list.out().lines()).hasSize(43).contains("ssh-hostkeys * Remove the SSH host keys in the guest",
                "user-account   Remove the user accounts in the guest");
        Outcome bad = run("sysprep", "--operations", "+no-such-op", dir.resolve("x.qcow2").toString());
        assertThat(bad.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(bad.err()).contains("unknown sysprep operation 'no-such-op'").contains("tmp-files");
        Outcome scripts = run("sysprep", "--script", "rm -rf etc", dir.resolve("x.qcow2").toString());
        assertThat(scripts.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(scripts.err()).contains("sysprep-host-scripts");
    }

    @Test
    void missingDiskArgumentIsAUsageError() {
        Outcome o = run("inspect");
        assertThat(o.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(o.err()).contains("Missing required parameter");
    }

    @Test
    void missingImageIsBadInputWithTheReason() {
        Path p = dir.resolve("absent.qcow2");
        Outcome o = run("inspect", p.toString());
        assertThat(o.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(o.err()).contains("DISK_NOT_FOUND").contains(p.toString());
    }

    @Test
    void emptyImageIsBadInput() throws Exception {
        Path p = Files.createFile(dir.resolve("empty.img"));
        Outcome o = run("inspect", "--format", "raw", p.toString());
        assertThat(o.exit()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(o.err()).contains("DISK_EMPTY");
    }

    @Test
    void unknownAccelerationIsAUsageError() throws Exception {
        Path p = Files.write(dir.resolve("x.img"), new byte[512]);
        Outcome o = run("inspect", "--accel", "warp", p.toString());
        assertThat(o.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(o.err()).contains("auto, kvm or tcg");
    }
}
