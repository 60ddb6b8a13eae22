package io.guestflow.settings;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One declared setting: its key, type, default (as written in a properties
 * file), description and rules. Everything else — parsing, the environment
 * variable, the line in {@code config/application.properties}, the row in
 * {@code docs/configuration.md}, the error for a bad value and
 * {@code bin/guestflow config} — comes from this declaration.
 *
 * <p>A key may contain one {@code <name>} part: such a setting is a template
 * ({@code guestflow.scan.<name>.cron}) that exists once per name used.
 *
 * @param <T> the parsed value's type
 */
public final class Setting<T> {
    /** Names a template key's {@code <name>} part may take (they end up in job ids and folders). */
    public static final String NAME_PART = "<name>";
    static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,39}");

    private final String key;
    private final Type<T> type;
    private final String defaultText;
    private final String description;
    private final List<Rule<T>> rules;
    private final boolean secret;

    private Setting(String key, Type<T> type, String defaultText, String description, List<Rule<T>> rules,
                    boolean secret) {
        this.key = key;
        this.type = type;
        this.defaultText = defaultText;
        this.description = description;
        this.rules = List.copyOf(rules);
        this.secret = secret;
    }

    /** How a value is written and read. */
    public interface Type<T> {
        /** For the docs: "integer", "seconds", "path", ... */
        String name();

        /** Text (trimmed, not blank) to value; IllegalArgumentException with a short reason when it is not one. */
        T parse(String text);
    }

    /** A rule a parsed value must follow, with its text for the docs ("≥ 1") and for errors. */
    public record Rule<T>(Predicate<T> test, String text) {
    }

    public static <T> Setting<T> of(String key, Type<T> type) {
        if (!key.equals(key.toLowerCase(Locale.ROOT)) && !key.contains(NAME_PART)) {
            throw new IllegalArgumentException("setting keys are lower case: " + key);
        }
        return new Setting<>(key, type, "", "", List.of(), false);
    }

    public static <T> Type<T> type(String name, Function<String, T> parse) {
        return new Type<>() {
            public String name() {
                return name;
            }

            public T parse(String text) {
                return parse.apply(text);
            }
        };
    }

    public static final Type<String> STRING = type("string", s -> s);
    public static final Type<Integer> INTEGER = type("integer", s -> {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an integer: '" + s + "'");
        }
    });
    public static final Type<Long> LONG = type("integer", s -> {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an integer: '" + s + "'");
        }
    });
    public static final Type<Boolean> BOOLEAN = type("boolean", s -> {
        if (s.equalsIgnoreCase("true")) {
            return true;
        }
        if (s.equalsIgnoreCase("false")) {
            return false;
        }
        throw new IllegalArgumentException("expected true or false, not '" + s + "'");
    });
    /** A whole number of seconds. */
    public static final Type<Duration> SECONDS = type("seconds", s -> Duration.ofSeconds(LONG.parse(s)));
    /** A whole number of milliseconds. */
    public static final Type<Duration> MILLIS = type("milliseconds", s -> Duration.ofMillis(LONG.parse(s)));
    /** A whole number of minutes. */
    public static final Type<Duration> MINUTES = type("minutes", s -> Duration.ofMinutes(LONG.parse(s)));
    /** A file or directory; {@code ${user.home}} is replaced by the home directory. */
    public static final Type<Path> PATH = type("path", s -> Path.of(expand(s)));
    /** Comma-separated values, blanks dropped. */
    public static final Type<List<String>> LIST = type("list", Setting::split);
    /** Comma-separated paths. */
    public static final Type<List<Path>> PATHS = type("list of paths",
            s -> split(s).stream().map(p -> Path.of(expand(p))).toList());

    /** An enum written in lower case with dashes ({@code FIRE_ONCE_NOW} ↔ {@code fire-once-now}). */
    public static <E extends Enum<E>> Type<E> choice(Class<E> type) {
        List<String> names = Arrays.stream(type.getEnumConstants()).map(Setting::text).toList();
        return type(String.join(" | ", names), s -> {
            for (E e : type.getEnumConstants()) {
                if (text(e).equalsIgnoreCase(s.replace('_', '-'))) {
                    return e;
                }
            }
            throw new IllegalArgumentException("'" + s + "' is not one of " + names);
        });
    }

    /** The properties-file spelling of an enum constant. */
    public static String text(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static String expand(String s) {
        return s.replace("${user.home}", System.getProperty("user.home"));
    }

    private static List<String> split(String s) {
        return Arrays.stream(s.split(",")).map(String::trim).filter(v -> !v.isEmpty()).toList();
    }

    public Setting<T> withDefault(String text) {
        return new Setting<>(key, type, text == null ? "" : text, description, rules, secret);
    }

    public Setting<T> withDescription(String text) {
        return new Setting<>(key, type, defaultText, text, rules, secret);
    }

    /** Values must pass {@code test}; {@code text} says the rule ("≥ 1", "a Quartz cron expression"). */
    public Setting<T> must(Predicate<T> test, String text) {
        List<Rule<T>> r = new ArrayList<>(rules);
        r.add(new Rule<>(test, text));
        return new Setting<>(key, type, defaultText, description, r, secret);
    }

    /** Masked in {@code bin/guestflow config} and never logged. */
    public Setting<T> secret() {
        return new Setting<>(key, type, defaultText, description, rules, true);
    }

    public String key() {
        return key;
    }

    public Type<T> type() {
        return type;
    }

    /** The default as written in a properties file; blank when the setting has no value unless given one. */
    public String defaultText() {
        return defaultText;
    }

    public String description() {
        return description;
    }

    public List<Rule<T>> rules() {
        return rules;
    }

    public boolean isSecret() {
        return secret;
    }

    public boolean isTemplate() {
        return key.contains(NAME_PART);
    }

    /** The key of a template for one name: {@code guestflow.scan.<name>.cron} → {@code guestflow.scan.nightly.cron}. */
    public String keyFor(String name) {
        return isTemplate() ? key.replace(NAME_PART, name) : key;
    }

    /** The environment variable that overrides the key: upper case, dots and dashes as underscores. */
    public String envName() {
        return envName(key);
    }

    public static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /**
     * The value of {@code raw} (null or blank: the default; a blank default: null).
     * IllegalArgumentException with the reason when it is not a valid value.
     */
    public T parse(String raw) {
        String text = raw == null || raw.isBlank() ? defaultText : raw.trim();
        if (text.isBlank()) {
            return null;
        }
        T value = type.parse(text.trim());
        for (Rule<T> r : rules) {
            if (!r.test().test(value)) {
                throw new IllegalArgumentException("must be " + r.text() + ", got '" + text.trim() + "'");
            }
        }
        return value;
    }

    /** The type and rules for the docs: "integer ≥ 1". */
    public String typeText() {
        StringBuilder b = new StringBuilder(type.name());
        rules.forEach(r -> b.append(", ").append(r.text()));
        return b.toString();
    }

    /** Rule: a number at least {@code min}. */
    public static <N extends Number> Predicate<N> atLeast(long min) {
        return n -> n.longValue() >= min;
    }

    @Override
    public String toString() {
        return key;
    }
}
