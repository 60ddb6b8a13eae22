package io.guestflow.processors.sparsify;

import io.guestflow.processors.job.ByteRanges;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The layout of one LVM volume group, read from its text metadata
 * ({@code vgmeta}): where each physical volume's extents start, which extents
 * the logical volumes use, and so which are free. Used to tell where on the
 * disk a logical volume and the group's free space lie, without asking LVM to
 * write anything.
 *
 * @param extentBytes bytes per extent
 * @param pvs         the physical volumes, by their metadata key ({@code pv0}, ...)
 * @param lvs         the logical volumes by name (hidden ones included), each as its segments
 */
record LvmMetadata(long extentBytes, Map<String, Pv> pvs, Map<String, List<Segment>> lvs) {
    private static final long SECTOR = 512;

    /** @param id the PV UUID as the metadata writes it (with dashes) */
    record Pv(String id, long peStartBytes, long peCount) {
    }

    /**
     * One segment of a logical volume.
     *
     * @param startExtent first extent of the LV it maps
     * @param extentCount extents of the LV it maps
     * @param stripes     (PV key, first PV extent) of each stripe; empty for segments made of other LVs (mirror, raid, thin)
     */
    record Segment(long startExtent, long extentCount, String type, List<Map.Entry<String, Long>> stripes) {
        /** Extents each stripe takes on its PV. */
        long extentsPerStripe() {
            return stripes.isEmpty() ? 0 : extentCount / stripes.size();
        }
    }

    /** A piece of a logical volume: {@code length} bytes at {@code lvOffset} lie on {@code pv} at {@code pvOffset}. */
    record Piece(long lvOffset, String pv, long pvOffset, long length) {
    }

    /**
     * Parses the text of {@code vgmeta} for volume group {@code vg}.
     *
     * @throws IllegalArgumentException when the text is not LVM2 text metadata of that group
     */
    static LvmMetadata parse(String vg, String text) {
        Map<String, Object> root = new Parser(text).section();
        Map<String, Object> g = map(root.get(vg), vg);
        long extent = number(g, "extent_size") * SECTOR;
        Map<String, Pv> pvs = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : map(g.getOrDefault("physical_volumes", Map.of()), "physical_volumes").entrySet()) {
            Map<String, Object> pv = map(e.getValue(), e.getKey());
            pvs.put(e.getKey(), new Pv(String.valueOf(pv.get("id")), number(pv, "pe_start") * SECTOR, number(pv, "pe_count")));
        }
        Map<String, List<Segment>> lvs = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : map(g.getOrDefault("logical_volumes", Map.of()), "logical_volumes").entrySet()) {
            Map<String, Object> lv = map(e.getValue(), e.getKey());
            List<Segment> segments = new ArrayList<>();
            for (Map.Entry<String, Object> s : lv.entrySet()) {
                if (!(s.getValue() instanceof Map<?, ?>) || !s.getKey().startsWith("segment")) {
                    continue;
                }
                Map<String, Object> seg = map(s.getValue(), s.getKey());
                List<Map.Entry<String, Long>> stripes = new ArrayList<>();
                if (seg.get("stripes") instanceof List<?> list) {
                    for (int i = 0; i + 1 < list.size(); i += 2) {
                        if (!(list.get(i) instanceof String pv) || !(list.get(i + 1) instanceof Long pe)) {
                            throw new IllegalArgumentException("stripes of " + e.getKey() + " are not (pv, extent) pairs");
                        }
                        stripes.add(Map.entry(pv, pe));
                    }
                }
                segments.add(new Segment(number(seg, "start_extent"), number(seg, "extent_count"),
                        String.valueOf(seg.get("type")), List.copyOf(stripes)));
            }
            lvs.put(e.getKey(), List.copyOf(segments));
        }
        return new LvmMetadata(extent, pvs, lvs);
    }

    /**
     * Where logical volume {@code lv} lies on its PVs, or null when some segment
     * is not a plain linear mapping (striped over several PVs, mirror, raid,
     * thin, cache ...).
     */
    List<Piece> pieces(String lv) {
        List<Segment> segments = lvs.get(lv);
        if (segments == null) {
            return null;
        }
        List<Piece> out = new ArrayList<>();
        for (Segment s : segments) {
            if (!"striped".equals(s.type()) || s.stripes().size() != 1 || !pvs.containsKey(s.stripes().get(0).getKey())) {
                return null;
            }
            Map.Entry<String, Long> stripe = s.stripes().get(0);
            Pv pv = pvs.get(stripe.getKey());
            out.add(new Piece(s.startExtent() * extentBytes, stripe.getKey(), pv.peStartBytes() + stripe.getValue() * extentBytes,
                    s.extentCount() * extentBytes));
        }
        return out;
    }

    /** The extents of PV {@code pv} no segment uses, as byte ranges from the PV's start. */
    ByteRanges free(String pv) {
        Pv p = pvs.get(pv);
        List<ByteRanges.Range> used = new ArrayList<>();
        for (List<Segment> segments : lvs.values()) {
            for (Segment s : segments) {
                for (Map.Entry<String, Long> stripe : s.stripes()) {
                    if (stripe.getKey().equals(pv)) {
                        long from = stripe.getValue();
                        used.add(new ByteRanges.Range(from, from + s.extentsPerStripe()));
                    }
                }
            }
        }
        ByteRanges freeExtents = ByteRanges.of(0, p.peCount()).minus(ByteRanges.of(used));
        List<ByteRanges.Range> bytes = new ArrayList<>();
        for (ByteRanges.Range r : freeExtents.list()) {
            bytes.add(new ByteRanges.Range(p.peStartBytes() + r.start() * extentBytes, p.peStartBytes() + r.end() * extentBytes));
        }
        return ByteRanges.of(bytes);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o, String what) {
        if (!(o instanceof Map<?, ?>)) {
            throw new IllegalArgumentException("no section " + what + " in the LVM metadata");
        }
        return (Map<String, Object>) o;
    }

    private static long number(Map<String, Object> m, String key) {
        if (!(m.get(key) instanceof Long n)) {
            throw new IllegalArgumentException("no number " + key + " in the LVM metadata");
        }
        return n;
    }

    /**
     * LVM2's text format: {@code name { ... }} sections, {@code key = value}
     * with strings, integers and {@code [ ... ]} lists, {@code #} comments.
     */
    private static final class Parser {
        private final String s;
        private int i;

        Parser(String s) {
            this.s = s;
        }

        /** Items until the end of the text or a closing brace. */
        Map<String, Object> section() {
            Map<String, Object> out = new LinkedHashMap<>();
            while (true) {
                skip();
                if (i >= s.length() || s.charAt(i) == '}') {
                    return out;
                }
                String name = word();
                skip();
                char c = next();
                if (c == '{') {
                    Map<String, Object> inner = section();
                    expect('}');
                    out.put(name, inner);
                } else if (c == '=') {
                    out.put(name, value());
                } else {
                    throw new IllegalArgumentException("unexpected '" + c + "' after " + name + " in the LVM metadata");
                }
            }
        }

        private Object value() {
            skip();
            char c = peek();
            if (c == '[') {
                i++;
                List<Object> list = new ArrayList<>();
                while (true) {
                    skip();
                    if (peek() == ']') {
                        i++;
                        return list;
                    }
                    list.add(value());
                    skip();
                    if (peek() == ',') {
                        i++;
                    }
                }
            }
            if (c == '"') {
                i++;
                StringBuilder sb = new StringBuilder();
                while (true) {
                    char d = next();
                    if (d == '"') {
                        return sb.toString();
                    }
                    sb.append(d == '\\' ? next() : d);
                }
            }
            String w = word();
            try {
                return Long.parseLong(w);
            } catch (NumberFormatException e) {
                try {
                    return Double.parseDouble(w);
                } catch (NumberFormatException e2) {
                    return w;
                }
            }
        }

        private String word() {
            int start = i;
            while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || "_.+-".indexOf(s.charAt(i)) >= 0)) {
                i++;
            }
            if (start == i) {
                throw new IllegalArgumentException("unexpected '" + (i < s.length() ? s.charAt(i) : "end") + "' in the LVM metadata");
            }
            return s.substring(start, i);
        }

        private void skip() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '#') {
                    while (i < s.length() && s.charAt(i) != '\n') {
                        i++;
                    }
                } else if (Character.isWhitespace(c) || c == '\0') {
                    i++;
                } else {
                    return;
                }
            }
        }

        private char peek() {
            if (i >= s.length()) {
                throw new IllegalArgumentException("the LVM metadata ends early");
            }
            return s.charAt(i);
        }

        private char next() {
            char c = peek();
            i++;
            return c;
        }

        private void expect(char c) {
            skip();
            if (next() != c) {
                throw new IllegalArgumentException("expected '" + c + "' in the LVM metadata");
            }
        }
    }
}
