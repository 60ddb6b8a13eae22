package io.guestflow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The commands that run a job on a local appliance share --format and --timeout, each with its own deadline. */
class JobOptionsTest {

    @Test
    void eachLocalJobCommandHasBothWithItsOwnDefaultDeadline() {
        CommandLine cli = GuestflowCli.commandLine();
        Map<String, String> deadlines = Map.of("inspect", "1800", "sysprep", "1800", "sparsify", "3600",
                "resize", "3600", "journal", "3600", "pipeline", "3600");
        deadlines.forEach((name, seconds) -> {
            CommandLine.Model.CommandSpec spec = cli.getSubcommands().get(name).getCommandSpec();
            assertThat(spec.findOption("--format")).as(name).isNotNull();
            assertThat(spec.findOption("--timeout").defaultValueString()).as(name).isEqualTo(seconds);
            assertThat(cli.getSubcommands().get(name).getUsageMessage()).as(name).contains("Default: " + seconds + ".");
        });
    }

    @Test
    void theGivenValuesReachTheJob() {
        CommandLine cli = GuestflowCli.commandLine();
        cli.parseArgs("inspect", "--format", "qcow2", "--timeout", "42", "/images/a.qcow2");
        InspectCommand inspect = cli.getSubcommands().get("inspect").getCommand();
        var job = inspect.jobOptions.job("inspect", java.util.List.of("/images/a.qcow2"), null, LocalJob.options());
        assertThat(job.timeoutSeconds()).isEqualTo(42);
        assertThat(job.disks().get(0).format()).isEqualTo("qcow2");
    }
}
