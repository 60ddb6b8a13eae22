package io.guestflow.cli;

import io.guestflow.config.GuestflowConfig;
import io.guestflow.settings.Configuration;
import java.nio.file.Path;
import io.guestflow.pool.GuestflowException;
import io.guestflow.processors.job.JobRejectedException;
import io.guestflow.pool.PoolConfig;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/guestflow}: the command line of guestflow. */
@Command(name = "guestflow", mixinStandardHelpOptions = true, versionProvider = GuestflowCli.Version.class,
        description = "Disk-image jobs on libguestfs, driven by Kafka: run the engine, submit jobs, tail topics, or run one job locally (info, inspect, sysprep, sparsify, resize, journal, pipeline).",
        subcommands = {RunCommand.class, SubmitCommand.class, TailCommand.class, InfoCommand.class, InspectCommand.class,
            SysprepCommand.class, SparsifyCommand.class, ResizeCommand.class, JournalCommand.class, PipelineCommand.class,
            ScanCommand.class,
            ConfigCommand.class,
            SampleCommand.class,
            BrokerCommand.class,
            CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:the operation failed",
            "2:wrong usage",
            "3:a disk or an option was rejected before launch (missing, unreadable, empty, damaged, wrong format, backing file, invalid option)",
            "4:the deadline passed and the appliance was killed",
            "5:the appliance could not start",
            "6:run: the engine could not become ready (broker, topics, results index) within startup-timeout-seconds"})
public final class GuestflowCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Options every command has. */
    public static final class Common {
        @Option(names = "--accel",
                description = "Appliance acceleration: auto (probe KVM, fall back to TCG), kvm or tcg. Default: auto, or the configuration's.")
        String accel;

        @Option(names = "--memsize", description = "Appliance memory in MiB. Default: libguestfs's, or the configuration's.")
        Integer memsizeMb;

        @Option(names = "--config", paramLabel = "FILE",
                description = "Properties file with guestflow.* settings (see config/application.properties)."
                        + " Default: $GUESTFLOW_CONFIG, else /etc/guestflow/guestflow.properties when it exists.")
        Path config;

        /** Defaults, then the file, then GUESTFLOW_* environment variables, then command-line flags. */
        PoolConfig poolConfig() {
            Configuration c = GuestflowConfig.load(config, System.getenv());
            if (accel != null) {
                c = c.with(PoolConfig.ACCELERATION.key(), accel, "command line --accel");
            }
            if (memsizeMb != null) {
                c = c.with(PoolConfig.MEMSIZE_MB.key(), memsizeMb.toString(), "command line --memsize");
            }
            // a local command runs one guest: one appliance is all it needs
            return PoolConfig.from(c).withMaxAppliances(1);
        }
    }

    @Option(names = {"-v", "--verbose"}, scope = CommandLine.ScopeType.INHERIT,
            description = "Debug logging on stderr, libguestfs events included (quiet by default).")
    void setVerbose(boolean verbose) {
        if (verbose) {
            Configurator.setRootLevel(Level.DEBUG);
        }
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new GuestflowCli());
        SysprepCommand.declareOperationOptions(cl.getSubcommands().get("sysprep").getCommandSpec());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof GuestflowException ge) {
                cmd.getErr().println("guestflow: " + ge.code() + ": " + ge.getMessage());
                return ExitCodes.of(ge.code());
            }
            if (ex instanceof JobRejectedException je) {
                cmd.getErr().println("guestflow: rejected: " + je.reason());
                return ExitCodes.BAD_INPUT;
            }
            if (ex instanceof IllegalArgumentException) {
                cmd.getErr().println("guestflow: " + ex.getMessage());
                return ExitCodes.USAGE;
            }
            cmd.getErr().println("guestflow: " + ex);
            return ExitCodes.FAILED;
        });
        return cl;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = GuestflowCli.class.getPackage().getImplementationVersion();
            return new String[] {"guestflow " + (v == null ? "dev" : v)};
        }
    }
}
