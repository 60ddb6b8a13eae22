import com.redhat.et.libguestfs.GuestFS;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.ApplianceKind;
import io.guestflow.pool.Drive;
import io.guestflow.pool.FixedAppliance;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import io.guestflow.settings.Setting;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Launch and inspect_os seconds per guest for each appliance variant
 * (bench/appliance-variants runs it; see there). Arguments: RUNS VARIANTS GUEST...
 * where VARIANTS is a comma list of supermin, fixed, fixed-all-lenses and a
 * GUEST is its disks joined by '+'. Variants take turns inside each run, so a
 * drift of the machine's speed hits them alike. Each guest's inspection facts
 * (roots, distro, version, product, hostname, mountpoints) are printed once per
 * variant and must be the same line for every variant.
 */
public class ApplianceVariants {
    public static void main(String[] args) throws Exception {
        int runs = Integer.parseInt(args[0]);
        List<ApplianceKind> kinds = new ArrayList<>();
        for (String v : args[1].split(",")) {
            kinds.add(Setting.choice(ApplianceKind.class).parse(v));
        }
        List<String> guests = Arrays.asList(args).subList(2, args.length);
        Map<ApplianceKind, HandlePool> pools = new LinkedHashMap<>();
        for (ApplianceKind k : kinds) {
            PoolConfig c = PoolConfig.defaults().withMaxAppliances(1).withAppliance(k);
            if (k.fixed()) {
                long t = System.nanoTime();
                Path dir = FixedAppliance.ensure(c);
                System.out.printf("# %s appliance: %s (ready in %.1f s)%n", Setting.text(k), dir, secs(t));
            }
            pools.put(k, new HandlePool(c));
        }
        Map<String, List<Double>> launch = new TreeMap<>();
        Map<String, List<Double>> inspect = new TreeMap<>();
        Map<String, String> facts = new TreeMap<>();
        System.out.printf("%-4s %-17s %-34s %9s %11s%n", "run", "variant", "guest", "launch s", "inspect s");
        try {
            for (int run = 1; run <= runs; run++) {
                for (String guest : guests) {
                    for (ApplianceKind k : kinds) {
                        List<Drive> drives = new ArrayList<>();
                        for (String d : guest.split("\\+")) {
                            drives.add(Drive.of(d).withReadOnly(true));
                        }
                        String name = Path.of(guest.split("\\+")[0]).getFileName().toString();
                        try (HandlePool.Lease lease = pools.get(k).lease("bench-" + Setting.text(k))) {
                            ApplianceHandle h = lease.launch(drives, GuestEventListener.NONE);
                            long t = System.nanoTime();
                            String[] roots = h.gfs().inspect_os();
                            double ins = secs(t);
                            double lau = h.launchMillis() / 1000.0;
                            String key = String.format("%-17s %-34s", Setting.text(k), name);
                            launch.computeIfAbsent(key, x -> new ArrayList<>()).add(lau);
                            inspect.computeIfAbsent(key, x -> new ArrayList<>()).add(ins);
                            facts.put(name + " " + Setting.text(k), facts(h.gfs(), roots));
                            System.out.printf("%-4d %s %9.1f %11.1f%n", run, key, lau, ins);
                        }
                    }
                }
            }
        } finally {
            pools.values().forEach(HandlePool::close);
        }
        System.out.println();
        System.out.printf("%-17s %-34s %5s %15s %16s%n", "variant", "guest", "runs", "launch s (med)", "inspect s (med)");
        for (String key : launch.keySet()) {
            System.out.printf("%s %5d %15.1f %16.1f%n", key, launch.get(key).size(), median(launch.get(key)),
                    median(inspect.get(key)));
        }
        System.out.println();
        System.out.println("inspection facts per guest and variant:");
        facts.forEach((k, v) -> System.out.println("  " + k + ": " + v));
    }

    private static String facts(GuestFS g, String[] roots) throws Exception {
        StringBuilder b = new StringBuilder();
        String[] sorted = roots.clone();
        Arrays.sort(sorted);
        for (String r : sorted) {
            b.append(r).append(" ").append(g.inspect_get_type(r)).append("/").append(g.inspect_get_distro(r))
                    .append(" ").append(g.inspect_get_major_version(r)).append(".").append(g.inspect_get_minor_version(r))
                    .append(" '").append(g.inspect_get_product_name(r)).append("' host=")
                    .append(g.inspect_get_hostname(r)).append(" mounts=").append(new TreeMap<>(g.inspect_get_mountpoints(r)))
                    .append("; ");
        }
        return b.length() == 0 ? "no operating system" : b.toString();
    }

    private static double secs(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }
}
