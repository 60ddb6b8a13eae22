package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.SysprepContext;
import java.util.List;
import java.util.function.Predicate;

/** Drops lines from the network-scripts ifcfg files of a Red Hat-family guest. */
final class IfcfgLines {
    private IfcfgLines() {
    }

    static void remove(SysprepContext ctx, Predicate<String> drop) throws Exception {
        for (String file : ctx.glob("/etc/sysconfig/network-scripts/ifcfg-*")) {
            String before = ctx.readText(file);
            List<String> kept = ctx.readLines(file).stream().filter(drop.negate()).toList();
            String after = String.join("\n", kept) + "\n";
            if (!after.equals(before)) {
                ctx.write(file, after);
            }
        }
    }
}
