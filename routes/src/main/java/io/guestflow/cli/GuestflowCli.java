package io.guestflow.cli;

import io.guestflow.pool.Acceleration;
import io.guestflow.pool.GuestflowException;
import io.guestflow.pool.PoolConfig;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/guestflow}: the command line of guestflow. */
@Command(name = "guestflow", mixinStandardHelpOptions = true, versionProvider = GuestflowCli.Version.class,
        description = "Disk-image jobs on libguestfs: inspection today, the Kafka engine next.",
        subcommands = {InspectCommand.class, SampleCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:the operation failed",
            "2:wrong usage",
            "3:a disk was rejected (missing, unreadable, empty, damaged, wrong format, backing file)",
            "4:the deadline passed and the appliance was killed",
            "5:the appliance could not start"})
public final class GuestflowCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Options every command has. */
    public static final class Common {
        @Option(names = {"-v", "--verbose"}, description = "Debug logging on stderr (and libguestfs events).")
        boolean verbose;

        @Option(names = "--accel", defaultValue = "auto",
                description = "Appliance acceleration: auto (probe KVM, fall back to TCG), kvm or tcg. Default: ${DEFAULT-VALUE}.")
        String accel;

        @Option(names = "--memsize", defaultValue = "0", description = "Appliance memory in MiB (0: libguestfs default).")
        int memsizeMb;

        void applyLogging() {
            if (verbose) {
                Configurator.setRootLevel(Level.DEBUG);
            }
        }

        PoolConfig poolConfig() {
            return PoolConfig.defaults().withAcceleration(Acceleration.parse(accel)).withMemsizeMb(memsizeMb)
                    .withMaxAppliances(1);
        }
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new GuestflowCli());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof GuestflowException ge) {
                cmd.getErr().println("guestflow: " + ge.code() + ": " + ge.getMessage());
                return ExitCodes.of(ge.code());
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
