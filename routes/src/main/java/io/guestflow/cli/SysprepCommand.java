package io.guestflow.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.processors.sysprep.OperationOption;
import io.guestflow.processors.sysprep.SysprepJobOperation;
import io.guestflow.processors.sysprep.SysprepOperation;
import io.guestflow.processors.sysprep.SysprepOperations;
import io.guestflow.processors.sysprep.SysprepOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code guestflow sysprep}: seal ONE guest's disks in place, locally (no Kafka). */
@Command(name = "sysprep", mixinStandardHelpOptions = true,
        description = {"Seal the disks of ONE guest for cloning, as virt-sysprep does, and print what changed (JSON).",
            "The disks are changed in place, all or nothing: the work is done on overlays that are committed only "
                + "when every operation succeeded."})
public final class SysprepCommand implements Callable<Integer> {

    @Mixin
    GuestflowCli.Common common = new GuestflowCli.Common();

    @Mixin
    JobOptions jobOptions = new JobOptions(1800);

    @Mixin
    KeyOptions keyOptions = new KeyOptions();

    @Spec
    CommandSpec spec;

    @Option(names = "--operations", split = ",", paramLabel = "OP",
            description = "Operations: +name/-name adjust the defaults; names, 'defaults' and 'all' build an explicit list.")
    List<String> operations = new ArrayList<>();

    @Option(names = "--list-operations", description = "List the operations (* = enabled by default) and exit.")
    boolean listOperations;

    @Option(names = {"-n", "--dry-run"}, description = "Report what would be removed or changed; the disks are attached read-only.")
    boolean dryRun;

    @Option(names = "--hostname", description = "Set the guest's hostname.")
    String hostname;

    @Option(names = "--root-password", paramLabel = "SELECTOR",
            description = "file:FILE (first line of FILE) or password:PASSWORD. Never printed.")
    String rootPassword;

    @Option(names = "--timezone", description = "Set the guest's timezone, e.g. Europe/London.")
    String timezone;

    @Option(names = "--ssh-inject", paramLabel = "USER:FILE", description = "Append the public key in FILE to USER's authorized_keys.")
    List<String> sshInject = new ArrayList<>();

    @Option(names = "--firstboot-command", paramLabel = "CMD", description = "Run CMD as root when the guest first boots.")
    List<String> firstboot = new ArrayList<>();

    @Option(names = "--no-random-seed", description = "Do not write a new random seed.")
    boolean noRandomSeed;

    @Option(names = "--selinux-relabel", description = "Relabel SELinux at the guest's next boot (guests using SELinux).")
    boolean selinuxRelabel;

    @Option(names = "--script", paramLabel = "CMD",
            description = "script: shell command run ON THIS HOST in the mounted guest; needs --allow-host-scripts.")
    List<String> scripts = new ArrayList<>();

    @Option(names = "--allow-host-scripts", description = "Let --script run commands on this host as the current user.")
    boolean allowHostScripts;

    @Parameters(arity = "0..*", paramLabel = "DISK", description = "Image files of the guest.")
    List<String> disks = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (listOperations) {
            for (SysprepOperation op : SysprepOperations.all()) {
                spec.commandLine().getOut().println(op.name() + (op.enabledByDefault() ? " * " : "   ") + op.description());
            }
            return ExitCodes.OK;
        }
        if (disks.isEmpty()) {
            throw new IllegalArgumentException("sysprep needs at least one DISK");
        }
        ObjectNode o = LocalJob.options();
        if (!operations.isEmpty()) {
            ArrayNode ops = o.putArray("operations");
            operations.forEach(ops::add);
        }
        o.put("dryRun", dryRun);
        if (hostname != null) {
            o.put("hostname", hostname);
        }
        if (rootPassword != null) {
            o.put("rootPassword", password(rootPassword));
        }
        if (timezone != null) {
            o.put("timezone", timezone);
        }
        ArrayNode keys = o.putArray("sshInjectKeys");
        for (String s : sshInject) {
            int colon = s.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("--ssh-inject takes USER:FILE, got " + s);
            }
            keys.addObject().put("user", s.substring(0, colon))
                    .put("key", Files.readString(Path.of(s.substring(colon + 1))).strip());
        }
        firstboot.forEach(o.putArray("firstbootCommands")::add);
        o.put("randomSeed", !noRandomSeed);
        o.put("selinuxRelabel", selinuxRelabel);
        for (OperationOption declared : SysprepOptions.declared()) {
            List<String> values = spec.findOption(declared.flag()).getValue();
            if (values != null && !values.isEmpty()) {
                values.forEach(o.putArray(declared.field())::add);
            }
        }
        if (!scripts.isEmpty()) {
            scripts.forEach(o.putArray("scripts")::add);
        }
        SysprepJobOperation op = new SysprepJobOperation(allowHostScripts);
        Object report = LocalJob.run(common, op, keyOptions.attach(jobOptions.job(op.type(), disks, null, o)),
                keyOptions);
        System.out.println(LocalJob.pretty(report));
        return ExitCodes.OK;
    }

    /**
     * Adds the options that sysprep operations declare ({@link OperationOption}) to the command, so an
     * operation's flags live in the operation's own file.
     */
    static void declareOperationOptions(CommandSpec sysprep) {
        for (OperationOption declared : SysprepOptions.declared()) {
            sysprep.addOption(OptionSpec.builder(declared.flag()).paramLabel(declared.paramLabel())
                    .description(declared.description()).type(List.class).auxiliaryTypes(String.class)
                    .splitRegex(",").build());
        }
    }

    private static String password(String selector) throws IOException {
        if (selector.startsWith("file:")) {
            List<String> lines = Files.readAllLines(Path.of(selector.substring(5)));
            if (lines.isEmpty() || lines.get(0).isEmpty()) {
                throw new IllegalArgumentException("--root-password: the file is empty");
            }
            return lines.get(0);
        }
        if (selector.startsWith("password:")) {
            return selector.substring(9);
        }
        throw new IllegalArgumentException("--root-password takes file:FILE or password:PASSWORD");
    }
}
