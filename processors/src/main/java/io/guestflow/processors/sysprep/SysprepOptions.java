package io.guestflow.processors.sysprep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guestflow.processors.job.JobRejectedException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The options of a sysprep job (see the README's sysprep section). The root
 * password is a secret: it is kept out of {@link #toString()} and never
 * appears in a report.
 *
 * @param operations         the operations to run, in run order
 * @param dryRun             report what would change, change nothing
 * @param hostname           customize: new hostname (FQDN allowed)
 * @param rootPassword       customize: new root password (secret)
 * @param timezone           customize: e.g. Europe/London
 * @param sshInjectKeys      customize: public keys appended to users' authorized_keys
 * @param firstbootCommands  customize: commands run as root at the guest's first boot
 * @param randomSeed         customize: write a new random seed (default true, as virt-sysprep)
 * @param selinuxRelabel     customize: relabel at first boot when the guest uses SELinux
 * @param scripts            script: shell commands run on the engine host in the mounted guest
 * @param operationOptions   the options that operations declare ({@link SysprepOperation#options()}), by field;
 *                           each operation reads its own with {@link #values(OperationOption)}
 */
public record SysprepOptions(List<SysprepOperation> operations, boolean dryRun, String hostname, String rootPassword,
                             String timezone, List<SshKey> sshInjectKeys, List<String> firstbootCommands,
                             boolean randomSeed, boolean selinuxRelabel, List<String> scripts,
                             Map<String, List<String>> operationOptions) {

    /** A public key for a user of the guest. */
    public record SshKey(String user, String key) {
    }

    private static final Set<String> OWN_NAMES = Set.of("operations", "dryRun", "hostname", "rootPassword", "timezone",
            "sshInjectKeys", "firstbootCommands", "randomSeed", "selinuxRelabel", "scripts");

    /** A user name of the guest, as useradd takes it. */
    public static final Pattern USER_NAME = Pattern.compile("[a-z_][a-z0-9_.-]{0,31}\\$?");
    private static final Pattern HOSTNAME = Pattern.compile(
            "(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final Pattern TIMEZONE = Pattern.compile("[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*");

    /**
     * Parses and checks {@code options}; every problem is a rejection that
     * names the option.
     *
     * @param hostScriptsAllowed whether the engine's configuration lets the script operation run host commands
     */
    public static SysprepOptions parse(String jobId, ObjectNode options, boolean hostScriptsAllowed) {
        Set<String> names = names();
        for (Iterator<String> it = options.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!names.contains(name)) {
                throw JobRejectedException.unknownOption(jobId, "sysprep", name, names);
            }
        }
        List<SysprepOperation> ops;
        try {
            ops = SysprepOperations.select(strings(jobId, options, "operations"));
        } catch (IllegalArgumentException e) {
            throw new JobRejectedException(jobId, e.getMessage());
        }
        boolean dryRun = bool(jobId, options, "dryRun", false);
        String hostname = text(jobId, options, "hostname");
        if (hostname != null && !HOSTNAME.matcher(hostname).matches()) {
            throw new JobRejectedException(jobId, "option 'hostname' is not a valid host name: " + hostname);
        }
        String rootPassword = text(jobId, options, "rootPassword");
        if (rootPassword != null && rootPassword.isEmpty()) {
            throw new JobRejectedException(jobId, "option 'rootPassword' must not be empty");
        }
        String timezone = text(jobId, options, "timezone");
        if (timezone != null && (!TIMEZONE.matcher(timezone).matches() || timezone.contains(".."))) {
            throw new JobRejectedException(jobId, "option 'timezone' must be a location like Europe/London, got: " + timezone);
        }
        List<SshKey> keys = new ArrayList<>();
        JsonNode k = options.get("sshInjectKeys");
        if (k != null) {
            if (!k.isArray()) {
                throw new JobRejectedException(jobId, "option 'sshInjectKeys' must be a list of {\"user\", \"key\"}");
            }
            for (JsonNode e : k) {
                if (!e.isObject() || !e.path("user").isTextual() || !e.path("key").isTextual() || e.size() != 2) {
                    throw new JobRejectedException(jobId, "each of 'sshInjectKeys' must be {\"user\": NAME, \"key\": PUBLIC KEY}");
                }
                String user = e.get("user").asText();
                String key = e.get("key").asText().strip();
                if (!USER_NAME.matcher(user).matches()) {
                    throw new JobRejectedException(jobId, "sshInjectKeys: invalid user name '" + user + "'");
                }
                if (key.isEmpty() || key.contains("\n") || !key.matches("(ssh-|ecdsa-|sk-)\\S+ \\S+.*")) {
                    throw new JobRejectedException(jobId, "sshInjectKeys: the key for " + user
                            + " is not one OpenSSH public key line");
                }
                keys.add(new SshKey(user, key));
            }
        }
        List<String> firstboot = strings(jobId, options, "firstbootCommands");
        Map<String, List<String>> declared = operationOptions(jobId, options, ops);
        List<String> scripts = strings(jobId, options, "scripts");
        boolean scriptOp = ops.stream().anyMatch(o -> o.name().equals("script"));
        if (!scripts.isEmpty() && scriptOp && !hostScriptsAllowed) {
            throw new JobRejectedException(jobId, "option 'scripts' runs commands on the engine host as the engine's "
                    + "user; it is refused unless the configuration sets guestflow.engine.sysprep-host-scripts=true");
        }
        return new SysprepOptions(ops, dryRun, hostname, rootPassword, timezone, List.copyOf(keys), firstboot,
                bool(jobId, options, "randomSeed", true), bool(jobId, options, "selinuxRelabel", false),
                scripts, declared);
    }

    /** The values of {@code option}, declared by one of the operations; empty when not given. */
    public List<String> values(OperationOption option) {
        return operationOptions.getOrDefault(option.field(), List.of());
    }

    /** Every option of sysprep jobs: its own, and the ones operations declare. */
    public static Set<String> names() {
        Set<String> names = new TreeSet<>(OWN_NAMES);
        declared().forEach(o -> names.add(o.field()));
        return names;
    }

    /** The options the operations declare, in the order of the operations' names. */
    public static List<OperationOption> declared() {
        return SysprepOperations.all().stream().flatMap(o -> o.options().stream()).toList();
    }

    /**
     * The options operations declare, each value checked; an operation's
     * options given while it is not enabled are a rejection.
     */
    private static Map<String, List<String>> operationOptions(String jobId, ObjectNode options,
                                                              List<SysprepOperation> enabled) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        for (SysprepOperation op : SysprepOperations.all()) {
            boolean given = false;
            for (OperationOption o : op.options()) {
                List<String> v = strings(jobId, options, o.field());
                for (String s : v) {
                    if (!o.valid().matcher(s).matches()) {
                        throw new JobRejectedException(jobId, "option '" + o.field() + "': " + o.invalid() + " '" + s + "'");
                    }
                }
                given |= !v.isEmpty();
                values.put(o.field(), v);
            }
            if (given && !enabled.contains(op)) {
                throw new JobRejectedException(jobId, String.join("/", op.options().stream().map(OperationOption::field)
                        .toList()) + " were given, but the '" + op.name() + "' operation is not enabled");
            }
        }
        return Map.copyOf(values);
    }

    @Override
    public String toString() {
        return "SysprepOptions[operations=" + operations.stream().map(SysprepOperation::name).toList()
                + ", dryRun=" + dryRun + ", hostname=" + hostname
                + ", rootPassword=" + (rootPassword == null ? "unset" : "(secret)")
                + ", timezone=" + timezone + ", sshInjectKeys=" + sshInjectKeys.size()
                + ", firstbootCommands=" + firstbootCommands.size() + ", randomSeed=" + randomSeed
                + ", selinuxRelabel=" + selinuxRelabel + ", scripts=" + scripts.size() + "]";
    }

    private static boolean bool(String jobId, ObjectNode o, String name, boolean dflt) {
        JsonNode v = o.get(name);
        if (v == null) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw new JobRejectedException(jobId, "option '" + name + "' must be true or false");
        }
        return v.asBoolean();
    }

    private static String text(String jobId, ObjectNode o, String name) {
        JsonNode v = o.get(name);
        if (v == null) {
            return null;
        }
        if (!v.isTextual()) {
            throw new JobRejectedException(jobId, "option '" + name + "' must be a string");
        }
        return v.asText();
    }

    /** A list of strings, given as a JSON array or one comma-separated string. */
    private static List<String> strings(String jobId, ObjectNode o, String name) {
        JsonNode v = o.get(name);
        if (v == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (v.isTextual() && !name.equals("firstbootCommands") && !name.equals("scripts")) {
            for (String s : v.asText().split(",")) {
                if (!s.isBlank()) {
                    out.add(s.strip());
                }
            }
            return out;
        }
        if (!v.isArray()) {
            throw new JobRejectedException(jobId, "option '" + name + "' must be a list of strings");
        }
        for (JsonNode e : v) {
            if (!e.isTextual() || e.asText().isBlank()) {
                throw new JobRejectedException(jobId, "option '" + name + "' must be a list of non-empty strings");
            }
            out.add(e.asText());
        }
        return List.copyOf(out);
    }

}
