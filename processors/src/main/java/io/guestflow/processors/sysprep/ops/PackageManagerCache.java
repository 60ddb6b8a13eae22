package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;
import java.util.List;

/** virt-sysprep's {@code package-manager-cache}: every file in the package manager's cache (directories stay). */
public final class PackageManagerCache extends NamedOperation {

    public PackageManagerCache() {
        super("package-manager-cache", "Remove package manager cache", true);
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return List.of("apt", "dnf", "yum", "zypper").contains(ctx.packageManagement()) ? null
                : "no known cache for package manager '" + ctx.packageManagement() + "'";
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        List<String> dirs = switch (ctx.packageManagement()) {
            case "apt" -> List.of("/var/cache/apt/archives/");
            case "dnf" -> List.of("/var/cache/dnf/");
            case "yum" -> List.of("/var/cache/yum/");
            default -> ctx.glob("/var/cache/zypp*");
        };
        for (String dir : dirs) {
            for (String f : ctx.filesBelow(dir)) {
                ctx.rm(f);
            }
        }
    }
}
