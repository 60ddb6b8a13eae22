package io.guestflow.settings;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * The values in force: declared defaults, then a properties file, then the
 * environment, then the command line, each value remembering where it came
 * from. Loading checks every key and value against the {@link Catalog}: an
 * unknown key or variable, or a value its setting refuses, is an error naming
 * the key, its source and the closest valid key — all of them at once.
 */
public final class Configuration {
    /** Where a value came from. */
    public record Value(String raw, String source) {
    }

    private final Catalog catalog;
    private final Map<String, Value> values;
    private final List<String> warnings;

    private Configuration(Catalog catalog, Map<String, Value> values, List<String> warnings) {
        this.catalog = catalog;
        this.values = values;
        this.warnings = List.copyOf(warnings);
    }

    /** Only the defaults. */
    public static Configuration defaults(Catalog catalog) {
        return new Configuration(catalog, new LinkedHashMap<>(), List.of());
    }

    /**
     * @param file       keys and values read from a properties file (may be empty)
     * @param fileSource how to name the file in messages ("file /etc/guestflow/guestflow.properties")
     * @param env        the environment; variables under the catalog's prefixes override the file
     * @throws SettingsException listing every problem
     */
    public static Configuration load(Catalog catalog, Map<String, String> file, String fileSource, Map<String, String> env) {
        Map<String, Value> values = new LinkedHashMap<>();
        new TreeMap<>(file).forEach((k, v) -> values.put(k.trim(), new Value(v, fileSource)));
        Set<String> names = new LinkedHashSet<>();
        for (String k : values.keySet()) {
            Catalog.Match m = catalog.match(k);
            if (m != null && m.name() != null) {
                names.add(m.name());
            }
        }
        List<String> problems = new ArrayList<>();
        Set<String> sections = catalog.envSections();
        for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
            String var = e.getKey();
            if (sections.stream().noneMatch(var::startsWith)) {
                continue;
            }
            String key = catalog.keyOfEnv(var, names);
            if (key == null) {
                problems.add(var + " (environment): names no setting; did you mean " + catalog.suggestEnv(var) + "?");
                continue;
            }
            values.put(key, new Value(e.getValue(), "environment " + var));
        }
        Configuration c = new Configuration(catalog, values, new ArrayList<>());
        return c.checked(problems);
    }

    /** A copy with {@code key} set to {@code raw} (a command-line flag), checked like the rest. */
    public Configuration with(String key, String raw, String source) {
        Map<String, Value> v = new LinkedHashMap<>(values);
        v.put(key, new Value(raw, source));
        return new Configuration(catalog, v, new ArrayList<>()).checked(new ArrayList<>());
    }

    private Configuration checked(List<String> problems) {
        List<String> warn = new ArrayList<>();
        for (Map.Entry<String, Value> e : values.entrySet()) {
            String key = e.getKey();
            Value v = e.getValue();
            Catalog.PassThrough p = catalog.passThroughOf(key);
            if (p != null) {
                if (!p.known().test(key.substring(p.prefix().length()))) {
                    warn.add(key + " (" + v.source() + "): not a setting the client knows; passed on as it is");
                }
                continue;
            }
            Catalog.Match m = catalog.match(key);
            if (m == null) {
                problems.add(key + " (" + v.source() + "): unknown setting; did you mean " + catalog.suggest(key) + "?");
                continue;
            }
            if (m.name() != null && !Setting.NAME.matcher(m.name()).matches()) {
                problems.add(key + " (" + v.source() + "): the name '" + m.name()
                        + "' must be 1-40 characters [A-Za-z0-9_-] starting with a letter or digit");
                continue;
            }
            try {
                m.setting().parse(v.raw());
            } catch (IllegalArgumentException ex) {
                problems.add(key + " (" + v.source() + "): " + ex.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new SettingsException(problems);
        }
        return new Configuration(catalog, values, warn);
    }

    public Catalog catalog() {
        return catalog;
    }

    /** Keys known to the client but not to its list, and the like: worth a log line, not a refusal. */
    public List<String> warnings() {
        return warnings;
    }

    public <T> T get(Setting<T> setting) {
        if (setting.isTemplate()) {
            throw new IllegalArgumentException(setting.key() + " needs a name");
        }
        return parse(setting, setting.key());
    }

    /** A template setting for one name: {@code get(CRON, "nightly")} reads {@code guestflow.scan.nightly.cron}. */
    public <T> T get(Setting<T> template, String name) {
        return parse(template, template.keyFor(name));
    }

    private <T> T parse(Setting<T> setting, String key) {
        if (catalog.settings().stream().noneMatch(s -> s.key().equals(setting.key()))) {
            throw new IllegalStateException(setting.key() + " is not declared in the catalog");
        }
        Value v = values.get(key);
        try {
            return setting.parse(v == null ? null : v.raw());
        } catch (IllegalArgumentException e) {
            throw new SettingsException(List.of(key + " (" + (v == null ? "default" : v.source()) + "): " + e.getMessage()));
        }
    }

    /** Whether {@code key} was given (file, environment or command line), even blank. */
    public boolean isSet(String key) {
        return values.containsKey(key);
    }

    /** The names given to a template, e.g. every scan with a roots key. */
    public Set<String> names(Setting<?> template) {
        Set<String> out = new java.util.TreeSet<>();
        for (String k : values.keySet()) {
            Catalog.Match m = catalog.match(k);
            if (m != null && m.setting() == template && m.name() != null) {
                out.add(m.name());
            }
        }
        return out;
    }

    /** The keys under a pass-through prefix, without it, with non-blank values. */
    public Map<String, String> passedThrough(String prefix) {
        Map<String, String> out = new LinkedHashMap<>();
        values.forEach((k, v) -> {
            if (k.startsWith(prefix) && v.raw() != null && !v.raw().isBlank()) {
                out.put(k.substring(prefix.length()), v.raw().trim());
            }
        });
        return out;
    }

    /** Where {@code key}'s value comes from: a file, a variable, the command line, or "default". */
    public String source(String key) {
        Value v = values.get(key);
        return v == null ? "default" : v.source();
    }

    /**
     * Every setting in force, one {@code key=value} line each with its source
     * as a comment, secrets masked: what {@code bin/guestflow config} prints.
     */
    public String describe() {
        List<String[]> rows = new ArrayList<>();
        for (Setting<?> s : catalog.settings()) {
            if (s.isTemplate()) {
                continue;
            }
            rows.add(row(s, s.key()));
        }
        for (Setting<?> s : catalog.settings()) {
            if (!s.isTemplate()) {
                continue;
            }
            for (String name : namesOfAnyTemplateIn(s)) {
                rows.add(row(s, s.keyFor(name)));
            }
        }
        for (Catalog.PassThrough p : catalog.passThroughs()) {
            new TreeMap<>(values).forEach((k, v) -> {
                if (k.startsWith(p.prefix())) {
                    String shown = p.secret().test(k.substring(p.prefix().length())) ? mask(v.raw()) : v.raw().trim();
                    rows.add(new String[] {k + "=" + shown, v.source()});
                }
            });
        }
        int width = rows.stream().mapToInt(r -> r[0].length()).max().orElse(0);
        StringBuilder b = new StringBuilder();
        for (String[] r : rows) {
            b.append(r[0]).append(" ".repeat(Math.max(1, width + 2 - r[0].length()))).append("# ").append(r[1]).append('\n');
        }
        return b.toString();
    }

    /** Names used with any template of the same family (so that a scan shows all its keys). */
    private Set<String> namesOfAnyTemplateIn(Setting<?> template) {
        String family = template.key().substring(0, template.key().indexOf(Setting.NAME_PART));
        Set<String> out = new java.util.TreeSet<>();
        for (String k : values.keySet()) {
            Catalog.Match m = catalog.match(k);
            if (m != null && m.name() != null && m.setting().key().startsWith(family)) {
                out.add(m.name());
            }
        }
        return out;
    }

    private String[] row(Setting<?> s, String key) {
        Value v = values.get(key);
        String raw = v == null || v.raw() == null || v.raw().isBlank() ? s.defaultText() : v.raw().trim();
        String shown = s.isSecret() && !raw.isBlank() ? mask(raw) : raw;
        return new String[] {key + "=" + shown, v == null ? "default" : v.source()};
    }

    private static String mask(String raw) {
        return raw == null || raw.isBlank() ? "" : "****";
    }

    /** A properties file as a map. Unreadable files are errors naming the file. */
    public static Map<String, String> readProperties(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        } catch (IOException e) {
            throw new SettingsException(List.of("cannot read the configuration file " + file + ": " + e));
        }
        Map<String, String> out = new LinkedHashMap<>();
        p.stringPropertyNames().forEach(k -> out.put(k, p.getProperty(k)));
        return out;
    }
}
