package io.guestflow.settings;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Every setting an application reads: groups of declared settings, and
 * prefixes passed through to a library ({@code kafka.*}). Knows which keys
 * and environment variables exist, suggests the closest valid key for a
 * misspelt one, and writes the reference properties file and the docs table.
 *
 * @param header       comment lines at the top of the reference file
 * @param groups       declared settings, in documentation order
 * @param passThroughs prefixes handed on without the prefix
 */
public record Catalog(List<String> header, List<SettingGroup> groups, List<PassThrough> passThroughs) {

    /**
     * Keys under {@code prefix} are handed to a library as they are (without the
     * prefix). {@code known} says which names the library reads (others are
     * warnings, since plug-ins read their own), {@code secret} which to mask.
     * The environment variable {@code envPrefix + NAME} with dots as underscores
     * sets {@code prefix + name} ({@code GUESTFLOW_KAFKA_SASL_MECHANISM} →
     * {@code kafka.sasl.mechanism}).
     */
    public record PassThrough(String prefix, String envPrefix, String title, String intro,
                              Predicate<String> known, Predicate<String> secret, List<String> examples) {
        public String keyOfEnv(String var) {
            return prefix + var.substring(envPrefix.length()).toLowerCase(Locale.ROOT).replace('_', '.');
        }
    }

    public Catalog {
        header = List.copyOf(header);
        groups = List.copyOf(groups);
        passThroughs = List.copyOf(passThroughs);
        Map<String, String> envs = new LinkedHashMap<>();
        for (Setting<?> s : groups.stream().flatMap(g -> g.settings().stream()).toList()) {
            String clash = envs.put(s.envName(), s.key());
            if (clash != null) {
                throw new IllegalArgumentException(s.key() + " and " + clash + " share the variable " + s.envName());
            }
        }
    }

    public List<Setting<?>> settings() {
        List<Setting<?>> all = new ArrayList<>();
        groups.forEach(g -> all.addAll(g.settings()));
        return all;
    }

    /** A key resolved: its declaration and, for a template, the name in it. */
    public record Match(Setting<?> setting, String name) {
    }

    /** The declaration of {@code key}, or null. */
    public Match match(String key) {
        for (Setting<?> s : settings()) {
            if (!s.isTemplate()) {
                if (s.key().equals(key)) {
                    return new Match(s, null);
                }
                continue;
            }
            int at = s.key().indexOf(Setting.NAME_PART);
            String before = s.key().substring(0, at);
            String after = s.key().substring(at + Setting.NAME_PART.length());
            if (key.length() > before.length() + after.length() && key.startsWith(before) && key.endsWith(after)) {
                String name = key.substring(before.length(), key.length() - after.length());
                if (!name.contains(".")) {
                    return new Match(s, name);
                }
            }
        }
        return null;
    }

    public PassThrough passThroughOf(String key) {
        return passThroughs.stream().filter(p -> key.startsWith(p.prefix())).findFirst().orElse(null);
    }

    /** Environment-variable prefixes that belong to this catalog ({@code GUESTFLOW_POOL_}, ...): any variable there must name a setting. */
    public Set<String> envSections() {
        Set<String> out = new LinkedHashSet<>();
        for (Setting<?> s : settings()) {
            String[] parts = s.key().split("\\.");
            out.add(Setting.envName(parts[0] + "." + parts[1]) + "_");
        }
        passThroughs.forEach(p -> out.add(p.envPrefix()));
        return out;
    }

    /**
     * The key an environment variable sets, or null when it names none.
     * {@code names}: template names already in use, so that
     * {@code GUESTFLOW_SCAN_MY_SCAN_CRON} finds the scan {@code my-scan}.
     */
    public String keyOfEnv(String var, Collection<String> names) {
        for (PassThrough p : passThroughs) {
            if (var.startsWith(p.envPrefix()) && var.length() > p.envPrefix().length()) {
                return p.keyOfEnv(var);
            }
        }
        Setting<?> best = null;
        String bestName = null;
        int bestAfter = -1;
        for (Setting<?> s : settings()) {
            String env = s.envName();
            if (!s.isTemplate()) {
                if (env.equals(var)) {
                    return s.key();
                }
                continue;
            }
            int at = s.key().indexOf(Setting.NAME_PART);
            String before = Setting.envName(s.key().substring(0, at));
            String after = Setting.envName(s.key().substring(at + Setting.NAME_PART.length()));
            // the longest matching suffix wins: _RESULT_TIMEOUT_MINUTES before _MINUTES
            if (var.length() > before.length() + after.length() && var.startsWith(before) && var.endsWith(after)
                    && after.length() > bestAfter) {
                best = s;
                bestAfter = after.length();
                bestName = var.substring(before.length(), var.length() - after.length());
            }
        }
        if (best == null) {
            return null;
        }
        String envPart = bestName;
        String name = names.stream().filter(n -> Setting.envName(n).equals(envPart)).findFirst()
                .orElse(envPart.toLowerCase(Locale.ROOT));
        return best.keyFor(name);
    }

    /** The valid key closest to {@code key} (edit distance), for "did you mean". */
    public String suggest(String key) {
        List<String> candidates = new ArrayList<>();
        for (Setting<?> s : settings()) {
            if (s.isTemplate()) {
                // the name as written in the misspelt key, when its prefix is right
                int at = s.key().indexOf(Setting.NAME_PART);
                String before = s.key().substring(0, at);
                if (key.startsWith(before) && key.indexOf('.', before.length()) > 0) {
                    candidates.add(s.keyFor(key.substring(before.length(), key.indexOf('.', before.length()))));
                } else {
                    candidates.add(s.key());
                }
            } else {
                candidates.add(s.key());
            }
        }
        return closest(key, candidates);
    }

    /** The environment variable closest to {@code var}. */
    public String suggestEnv(String var) {
        List<String> candidates = new ArrayList<>();
        for (Setting<?> s : settings()) {
            candidates.add(s.envName());
        }
        return closest(var, candidates);
    }

    static String closest(String word, List<String> candidates) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String c : candidates) {
            int d = distance(word, c);
            if (d < bestDistance) {
                best = c;
                bestDistance = d;
            }
        }
        return best;
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    // ---- documents written from the declarations ---------------------------------------------

    /** {@code config/application.properties}: every setting with its description, rules and default. */
    public String reference() {
        StringBuilder b = new StringBuilder();
        header.forEach(l -> b.append(comment(l)).append('\n'));
        for (SettingGroup g : groups) {
            b.append('\n').append(rule(g.title())).append('\n');
            wrap(g.intro(), b);
            for (Setting<?> s : g.settings()) {
                if (s.isTemplate()) {
                    continue;
                }
                wrap(s.description(), b);
                b.append("# ").append(s.typeText()).append("; environment ").append(s.envName()).append('\n');
                b.append(s.key()).append('=').append(s.defaultText()).append('\n');
            }
            List<Setting<?>> templates = g.settings().stream().filter(Setting::isTemplate).toList();
            if (!templates.isEmpty()) {
                for (Setting<?> s : templates) {
                    b.append("#   ").append(s.key()).append("  (").append(s.typeText())
                            .append(s.defaultText().isBlank() ? "" : "; default " + s.defaultText()).append(")\n");
                    wrap(s.description(), "#       ", b);
                }
            }
            g.examples().forEach(l -> b.append('#').append(l).append('\n'));
        }
        for (PassThrough p : passThroughs) {
            b.append('\n').append(rule(p.title())).append('\n');
            wrap(p.intro(), b);
            p.examples().forEach(l -> b.append("# ").append(l).append('\n'));
        }
        return b.toString();
    }

    /** The settings table of {@code docs/configuration.md}. */
    public String markdown() {
        StringBuilder b = new StringBuilder();
        for (SettingGroup g : groups) {
            b.append("\n### ").append(capitalize(g.title())).append("\n\n");
            if (!g.intro().isBlank()) {
                b.append(g.intro()).append("\n\n");
            }
            b.append("| key | environment | type | default | meaning |\n|---|---|---|---|---|\n");
            for (Setting<?> s : g.settings()) {
                b.append("| `").append(s.key()).append("` | `").append(s.envName()).append("` | ")
                        .append(s.typeText().replace("|", "\\|")).append(" | ")
                        .append(s.defaultText().isBlank() ? "" : "`" + s.defaultText() + "`").append(" | ")
                        .append(s.description().replace("|", "\\|").replace("\n", " ")).append(" |\n");
            }
            if (!g.examples().isEmpty()) {
                b.append("\n```properties\n");
                g.examples().forEach(l -> b.append(l.strip()).append('\n'));
                b.append("```\n");
            }
        }
        for (PassThrough p : passThroughs) {
            b.append("\n### ").append(capitalize(p.title())).append("\n\n").append(p.intro()).append("\n\n```properties\n");
            p.examples().forEach(l -> b.append(l).append('\n'));
            b.append("```\n");
        }
        return b.toString();
    }

    private static String capitalize(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    private static String rule(String title) {
        String t = "# --- " + title + " ";
        return t + "-".repeat(Math.max(3, 79 - t.length()));
    }

    private static String comment(String line) {
        return line.isEmpty() ? "#" : "# " + line;
    }

    private static void wrap(String text, StringBuilder b) {
        wrap(text, "# ", b);
    }

    /** Paragraphs (blank-line separated) wrapped at 79 columns behind {@code lead}. */
    private static void wrap(String text, String lead, StringBuilder b) {
        if (text == null || text.isBlank()) {
            return;
        }
        String[] paragraphs = text.split("\n\n");
        for (int p = 0; p < paragraphs.length; p++) {
            if (p > 0) {
                b.append(lead.stripTrailing()).append('\n');
            }
            StringBuilder line = new StringBuilder(lead);
            for (String word : paragraphs[p].split("\\s+")) {
                if (word.isEmpty()) {
                    continue;
                }
                if (line.length() > lead.length() && line.length() + 1 + word.length() > 79) {
                    b.append(line).append('\n');
                    line = new StringBuilder(lead);
                }
                if (line.length() > lead.length()) {
                    line.append(' ');
                }
                line.append(word);
            }
            b.append(line).append('\n');
        }
    }
}
