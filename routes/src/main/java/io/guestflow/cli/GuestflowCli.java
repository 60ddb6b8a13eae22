package io.guestflow.cli;

import io.guestflow.pool.Acceleration;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
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
                description = "Properties file with guestflow.* settings (see config/application.properties).")
        Path config;

        /** File, then GUESTFLOW_* environment variables, then command-line flags. */
        PoolConfig poolConfig() {
            PoolConfig c = PoolConfig.fromProperties(loadProperties(config), System.getenv());
            if (accel != null) {
                c = c.withAcceleration(Acceleration.parse(accel));
            }
            if (memsizeMb != null) {
                c = c.withMemsizeMb(memsizeMb);
            }
            // a local command runs one guest: one appliance is all it needs
            return c.withMaxAppliances(1);
        }
    }

    @Option(names = {"-v", "--verbose"}, scope = CommandLine.ScopeType.INHERIT,
            description = "Debug logging on stderr, libguestfs events included (quiet by default).")
    void setVerbose(boolean verbose) {
        if (verbose) {
            Configurator.setRootLevel(Level.DEBUG);
        }
    }

    /** A properties file as a map; no file, an empty map. Unreadable files are usage errors. */
    static Map<String, String> loadProperties(Path file) {
        Map<String, String> props = new HashMap<>();
        if (file != null) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(file)) {
                p.load(r);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read configuration " + file + ": " + e.getMessage());
            }
            p.stringPropertyNames().forEach(k -> props.put(k, p.getProperty(k)));
        }
        return props;
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
