package io.guestflow.processors.resize;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Size fields as virt-resize reads them: {@code 10G}, {@code 512M},
 * {@code 1.5G}, {@code 4096b}; relative {@code +N}/{@code -N}; percentages
 * {@code 80%}, {@code +10%}, {@code -10%} (of the old size, in tenths of a
 * percent like virt-resize). Units are powers of 1024.
 */
public final class Sizes {
    private static final Pattern FIELD = Pattern.compile("^([+-]?)([0-9]+(?:\\.[0-9]+)?)([bKMGT%]?)$");

    private Sizes() {
    }

    /** Whether {@code field} has the syntax of a resize field (checked before any appliance starts). */
    public static boolean isResizeField(String field) {
        return FIELD.matcher(field.strip()).matches();
    }

    /** The new size for a partition of {@code oldSize} bytes; IllegalArgumentException on bad syntax. */
    public static long resize(long oldSize, String field) {
        Matcher m = FIELD.matcher(field.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("cannot parse size field '" + field + "'");
        }
        String sign = m.group(1);
        double number = Double.parseDouble(m.group(2));
        String unit = m.group(3);
        long amount;
        if (unit.equals("%")) {
            long tenths = (long) (10 * number);
            amount = oldSize * tenths / 1000;
        } else if (unit.isEmpty() && !m.group(2).contains(".")) {
            amount = Long.parseLong(m.group(2)); // plain bytes
        } else {
            amount = scaled(number, unit.isEmpty() ? "b" : unit);
        }
        return switch (sign) {
            case "+" -> oldSize + amount;
            case "-" -> oldSize - amount;
            default -> amount;
        };
    }

    /** An output disk size: absolute, or {@code +N}/{@code -N}/percentages of the input's virtual size. */
    public static long diskSize(long inputSize, String field) {
        return resize(inputSize, field);
    }

    /** Whether the field is relative to an old size (needs to know it). */
    public static boolean isRelative(String field) {
        String f = field.strip();
        return f.startsWith("+") || f.startsWith("-") || f.endsWith("%");
    }

    private static long scaled(double n, String unit) {
        return switch (unit) {
            case "b" -> (long) n;
            case "K" -> (long) (n * 1024);
            case "M" -> (long) (n * 1024 * 1024);
            case "G" -> (long) (n * 1024 * 1024 * 1024);
            case "T" -> (long) (n * 1024 * 1024 * 1024 * 1024);
            default -> throw new IllegalArgumentException("unknown size unit '" + unit + "'");
        };
    }

    /** Human-readable size for messages (binary units, one decimal). */
    public static String human(long bytes) {
        long abs = Math.abs(bytes);
        String[] units = {"K", "M", "G", "T"};
        if (abs < 1024) {
            return bytes + " bytes";
        }
        double v = bytes;
        int i = -1;
        while (Math.abs(v) >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f%s", v, units[i]);
    }
}
