package io.guestflow.processors.job;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * A set of byte ranges {@code [start, end)} of a disk or device, kept sorted
 * and merged: where an image holds data, where a filesystem lies, what a
 * discard may touch.
 */
public final class ByteRanges {
    /** One range {@code [start, end)}. */
    public record Range(long start, long end) {
        public Range {
            if (start < 0 || end < start) {
                throw new IllegalArgumentException("bad range [" + start + ", " + end + ")");
            }
        }

        public long length() {
            return end - start;
        }
    }

    private static final ByteRanges EMPTY = new ByteRanges(List.of());

    private final List<Range> ranges;

    private ByteRanges(List<Range> sortedMerged) {
        this.ranges = sortedMerged;
    }

    public static ByteRanges empty() {
        return EMPTY;
    }

    public static ByteRanges of(long start, long end) {
        return of(List.of(new Range(start, end)));
    }

    /** The union of {@code ranges}, in any order, overlapping or not. */
    public static ByteRanges of(Collection<Range> ranges) {
        List<Range> sorted = new ArrayList<>(ranges);
        sorted.removeIf(r -> r.length() == 0);
        sorted.sort(Comparator.comparingLong(Range::start));
        List<Range> out = new ArrayList<>();
        for (Range r : sorted) {
            Range last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last != null && r.start() <= last.end()) {
                out.set(out.size() - 1, new Range(last.start(), Math.max(last.end(), r.end())));
            } else {
                out.add(r);
            }
        }
        return out.isEmpty() ? EMPTY : new ByteRanges(List.copyOf(out));
    }

    public List<Range> list() {
        return ranges;
    }

    public boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** Bytes covered. */
    public long total() {
        long sum = 0;
        for (Range r : ranges) {
            sum += r.length();
        }
        return sum;
    }

    public ByteRanges union(ByteRanges other) {
        List<Range> all = new ArrayList<>(ranges);
        all.addAll(other.ranges);
        return of(all);
    }

    public ByteRanges intersect(ByteRanges other) {
        List<Range> out = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < ranges.size() && j < other.ranges.size()) {
            Range a = ranges.get(i);
            Range b = other.ranges.get(j);
            long s = Math.max(a.start(), b.start());
            long e = Math.min(a.end(), b.end());
            if (s < e) {
                out.add(new Range(s, e));
            }
            if (a.end() < b.end()) {
                i++;
            } else {
                j++;
            }
        }
        return of(out);
    }

    public ByteRanges minus(ByteRanges other) {
        List<Range> out = new ArrayList<>();
        int j = 0;
        for (Range a : ranges) {
            long s = a.start();
            while (j < other.ranges.size() && other.ranges.get(j).end() <= s) {
                j++;
            }
            int k = j;
            while (k < other.ranges.size() && other.ranges.get(k).start() < a.end()) {
                Range b = other.ranges.get(k);
                if (b.start() > s) {
                    out.add(new Range(s, b.start()));
                }
                s = Math.max(s, b.end());
                k++;
            }
            if (s < a.end()) {
                out.add(new Range(s, a.end()));
            }
        }
        return of(out);
    }

    /** Every range widened to whole multiples of {@code unit} (the blocks it touches). */
    public ByteRanges roundOut(long unit) {
        List<Range> out = new ArrayList<>();
        for (Range r : ranges) {
            out.add(new Range(Math.floorDiv(r.start(), unit) * unit, Math.floorDiv(r.end() + unit - 1, unit) * unit));
        }
        return of(out);
    }

    /** Every range narrowed to the whole multiples of {@code unit} inside it (the blocks it covers fully). */
    public ByteRanges roundIn(long unit) {
        List<Range> out = new ArrayList<>();
        for (Range r : ranges) {
            long s = Math.floorDiv(r.start() + unit - 1, unit) * unit;
            long e = Math.floorDiv(r.end(), unit) * unit;
            if (s < e) {
                out.add(new Range(s, e));
            }
        }
        return of(out);
    }

    /** Every range moved by {@code delta} bytes (negative parts are cut off). */
    public ByteRanges shift(long delta) {
        List<Range> out = new ArrayList<>();
        for (Range r : ranges) {
            long s = Math.max(0, r.start() + delta);
            long e = r.end() + delta;
            if (s < e) {
                out.add(new Range(s, e));
            }
        }
        return of(out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ByteRanges b && b.ranges.equals(ranges);
    }

    @Override
    public int hashCode() {
        return ranges.hashCode();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (Range r : ranges) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append(r.start()).append('-').append(r.end());
        }
        return sb.append(']').toString();
    }
}
