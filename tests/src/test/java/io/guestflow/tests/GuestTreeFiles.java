package io.guestflow.tests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** A {@link GuestTree} as a text file (one "path TAB description" per line), for oracle caches. */
final class GuestTreeFiles {
    private GuestTreeFiles() {
    }

    static void save(GuestTree t, Path file) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("#distro\t" + t.distro());
        lines.add("#pv\t" + t.pvUuid());
        lines.add("#vg\t" + t.vgUuid());
        t.entries().forEach((k, v) -> lines.add(k + "\t" + v));
        Files.write(file, lines);
    }

    static GuestTree load(Path file) throws IOException {
        Map<String, String> entries = new TreeMap<>();
        Map<String, String> meta = new TreeMap<>();
        for (String line : Files.readAllLines(file)) {
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
