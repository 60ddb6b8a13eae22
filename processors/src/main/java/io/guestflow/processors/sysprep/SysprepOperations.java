package io.guestflow.processors.sysprep;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * Every sysprep operation, by name (virt-sysprep 1.48's list), and the
 * selection rules of its {@code --operations}. The operations are the
 * classes that {@code META-INF/services/io.guestflow.processors.sysprep.SysprepOperation}
 * lists: they live in {@code ops/} and use this package, which therefore
 * names none of them in its code.
 */
public final class SysprepOperations {
    private static final Map<String, SysprepOperation> ALL = new LinkedHashMap<>();

    static {
        for (SysprepOperation op : ServiceLoader.load(SysprepOperation.class, SysprepOperation.class.getClassLoader())) {
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
