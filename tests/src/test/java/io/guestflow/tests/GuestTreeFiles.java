package io.guestflow.tests;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** A {@link GuestTree} as text (one "path TAB description" per line), for golden files. */
final class GuestTreeFiles {
    private GuestTreeFiles() {
    }

    static String text(GuestTree t) {
        List<String> lines = new ArrayList<>();
        lines.add("#distro\t" + t.distro());
        lines.add("#pv\t" + t.pvUuid());
        lines.add("#vg\t" + t.vgUuid());
        t.entries().forEach((k, v) -> lines.add(k + "\t" + v));
        return String.join("\n", lines) + "\n";
    }

    static GuestTree parse(String text) {
        Map<String, String> entries = new TreeMap<>();
        Map<String, String> meta = new TreeMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] kv = line.split("\t", 2);
            if (line.startsWith("#")) {
                meta.put(kv[0], kv[1].equals("null") ? null : kv[1]);
            } else {
                entries.put(kv[0], kv[1]);
            }
        }
        return new GuestTree(meta.get("#distro"), entries, meta.get("#pv"), meta.get("#vg"));
    }
}
