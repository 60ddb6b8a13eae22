package io.guestflow.processors.sysprep;

import io.guestflow.processors.sysprep.ops.AbrtData;
import io.guestflow.processors.sysprep.ops.BackupFiles;
import io.guestflow.processors.sysprep.ops.BashHistory;
import io.guestflow.processors.sysprep.ops.BlkidTab;
import io.guestflow.processors.sysprep.ops.CaCertificates;
import io.guestflow.processors.sysprep.ops.CrashData;
import io.guestflow.processors.sysprep.ops.CronSpool;
import io.guestflow.processors.sysprep.ops.Customize;
import io.guestflow.processors.sysprep.ops.DhcpClientState;
import io.guestflow.processors.sysprep.ops.DhcpServerState;
import io.guestflow.processors.sysprep.ops.DovecotData;
import io.guestflow.processors.sysprep.ops.FirewallRules;
import io.guestflow.processors.sysprep.ops.FlagReconfiguration;
import io.guestflow.processors.sysprep.ops.FsUuids;
import io.guestflow.processors.sysprep.ops.IpaClient;
import io.guestflow.processors.sysprep.ops.KerberosData;
import io.guestflow.processors.sysprep.ops.KerberosHostkeytab;
import io.guestflow.processors.sysprep.ops.Logfiles;
import io.guestflow.processors.sysprep.ops.LvmUuids;
import io.guestflow.processors.sysprep.ops.MachineId;
import io.guestflow.processors.sysprep.ops.MailSpool;
import io.guestflow.processors.sysprep.ops.NetHostname;
import io.guestflow.processors.sysprep.ops.NetHwaddr;
import io.guestflow.processors.sysprep.ops.NetNmconn;
import io.guestflow.processors.sysprep.ops.PacctLog;
import io.guestflow.processors.sysprep.ops.PackageManagerCache;
import io.guestflow.processors.sysprep.ops.PamData;
import io.guestflow.processors.sysprep.ops.PasswdBackups;
import io.guestflow.processors.sysprep.ops.PuppetDataLog;
import io.guestflow.processors.sysprep.ops.RhSubscriptionManager;
import io.guestflow.processors.sysprep.ops.RhnSystemid;
import io.guestflow.processors.sysprep.ops.RpmDb;
import io.guestflow.processors.sysprep.ops.SambaDbLog;
import io.guestflow.processors.sysprep.ops.Script;
import io.guestflow.processors.sysprep.ops.SmoltUuid;
import io.guestflow.processors.sysprep.ops.SshHostkeys;
import io.guestflow.processors.sysprep.ops.SshUserdir;
import io.guestflow.processors.sysprep.ops.SssdDbLog;
import io.guestflow.processors.sysprep.ops.TmpFiles;
import io.guestflow.processors.sysprep.ops.UdevPersistentNet;
import io.guestflow.processors.sysprep.ops.UserAccount;
import io.guestflow.processors.sysprep.ops.Utmp;
import io.guestflow.processors.sysprep.ops.YumUuid;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every sysprep operation, by name (virt-sysprep 1.48's list), and the
 * selection rules of its {@code --operations}.
 */
public final class SysprepOperations {
    private static final Map<String, SysprepOperation> ALL = new LinkedHashMap<>();

    static {
        for (SysprepOperation op : List.of(new AbrtData(), new BackupFiles(), new BashHistory(), new BlkidTab(),
                new CaCertificates(), new CrashData(), new CronSpool(), new Customize(), new DhcpClientState(),
                new DhcpServerState(), new DovecotData(), new FirewallRules(), new FlagReconfiguration(),
                new FsUuids(), new IpaClient(), new KerberosData(), new KerberosHostkeytab(), new Logfiles(),
                new LvmUuids(), new MachineId(), new MailSpool(), new NetHostname(), new NetHwaddr(),
                new NetNmconn(), new PacctLog(), new PackageManagerCache(), new PamData(), new PasswdBackups(),
                new PuppetDataLog(), new RhSubscriptionManager(), new RhnSystemid(), new RpmDb(), new SambaDbLog(),
                new Script(), new SmoltUuid(), new SshHostkeys(), new SshUserdir(), new SssdDbLog(),
                new TmpFiles(), new UdevPersistentNet(), new UserAccount(), new Utmp(), new YumUuid())) {
            ALL.put(op.name(), op);
        }
    }

    /** Run order: by order, then by name (as virt-sysprep). */
    public static final Comparator<SysprepOperation> RUN_ORDER =
            Comparator.comparingInt(SysprepOperation::order).thenComparing(SysprepOperation::name);

    private SysprepOperations() {
    }

    /** All operations, by name. */
    public static List<SysprepOperation> all() {
        return ALL.values().stream().sorted(Comparator.comparing(SysprepOperation::name)).toList();
    }

    public static List<SysprepOperation> defaults() {
        return ALL.values().stream().filter(SysprepOperation::enabledByDefault).sorted(RUN_ORDER).toList();
    }

    /**
     * The operations a spec selects, in run order. An empty spec, or one made
     * only of {@code +name}/{@code -name} adjustments, starts from the
     * defaults; otherwise it starts empty and applies each entry in turn, as
     * virt-sysprep's {@code --operations}: {@code name} or {@code +name} adds,
     * {@code -name} removes, {@code defaults} and {@code all} add those sets.
     *
     * @throws IllegalArgumentException naming the unknown entry and every valid name
     */
    public static List<SysprepOperation> select(List<String> spec) {
        boolean adjustments = spec.stream().allMatch(s -> s.startsWith("+") || s.startsWith("-"));
        Set<String> chosen = new LinkedHashSet<>();
        if (adjustments) {
            defaults().forEach(o -> chosen.add(o.name()));
        }
        for (String entry : spec) {
            boolean remove = entry.startsWith("-");
            String name = entry.startsWith("+") || remove ? entry.substring(1) : entry;
            List<String> names = switch (name) {
                case "defaults" -> defaults().stream().map(SysprepOperation::name).toList();
                case "all" -> List.copyOf(ALL.keySet());
                default -> {
                    if (!ALL.containsKey(name)) {
                        throw new IllegalArgumentException("unknown sysprep operation '" + name + "'; valid: "
                                + String.join(", ", all().stream().map(SysprepOperation::name).toList())
                                + " (and the sets 'defaults', 'all')");
                    }
                    yield List.of(name);
                }
            };
            if (remove) {
                names.forEach(chosen::remove);
            } else {
                chosen.addAll(names);
            }
        }
        return chosen.stream().map(ALL::get).sorted(RUN_ORDER).toList();
    }
}
