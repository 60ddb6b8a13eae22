package io.guestflow;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The main code of every module, read as an import graph between Java
 * packages, has no cycle: each package stands above the ones it uses. A
 * reference counts when it is an import line or a fully qualified name in the
 * code (javadoc included).
 */
class PackageCyclesTest {
    private static final Path REPO = Path.of(System.getProperty("guestflow.repo", ".."));
    private static final Pattern PACKAGE = Pattern.compile("(?m)^package\\s+([\\w.]+);");
    private static final Pattern QUALIFIED = Pattern.compile("(?<![\\w.])(io\\.guestflow(?:\\.[a-z]\\w*)*)\\.[A-Z]");

    @Test
    void noPackageImportsItselfThroughOthers() {
        Map<String, String> sources = mainSources();
        assertThat(sources).as("main sources under " + REPO.toAbsolutePath()).hasSizeGreaterThan(100);
        Map<String, Map<String, Set<String>>> uses = uses(sources); // package -> used package -> files
        List<String> cycles = new ArrayList<>();
        for (Set<String> component : stronglyConnected(uses)) {
            StringBuilder b = new StringBuilder(String.join(" <-> ", component));
            for (String from : component) {
                uses.get(from).forEach((to, files) -> {
                    if (component.contains(to)) {
                        b.append("\n    ").append(from).append(" -> ").append(to).append(" in ").append(files);
                    }
                });
            }
            cycles.add(b.toString());
        }
        assertThat(cycles).as("package cycles in main code").isEmpty();
    }

    @Test
    void findsACycleWhereThereIsOne() {
        Map<String, String> sources = Map.of(
                "a/A.java", "package p.a;\nimport p.b.B;\nclass A {}",
                "b/B.java", "package p.b;\nclass B { p.a.A a; }",
                "c/C.java", "package p.c;\nimport p.a.A;\nclass C {}");
        Map<String, Map<String, Set<String>>> uses = uses(sources, Pattern.compile("(?<![\\w.])(p(?:\\.[a-z]\\w*)*)\\.[A-Z]"));
        assertThat(stronglyConnected(uses)).containsExactly(new TreeSet<>(Set.of("p.a", "p.b")));
    }

    private static Map<String, String> mainSources() {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> modules = Files.list(REPO)) {
            for (Path main : modules.map(m -> m.resolve("src/main/java")).filter(Files::isDirectory).toList()) {
                try (Stream<Path> files = Files.walk(main)) {
                    for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                        out.put(REPO.relativize(f).toString(), Files.readString(f));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static Map<String, Map<String, Set<String>>> uses(Map<String, String> sources) {
        return uses(sources, QUALIFIED);
    }

    /** For each package, the packages its files name, with the naming files. */
    private static Map<String, Map<String, Set<String>>> uses(Map<String, String> sources, Pattern qualified) {
        Map<String, String> packageOf = new HashMap<>();
        sources.forEach((file, text) -> {
            Matcher m = PACKAGE.matcher(text);
            packageOf.put(file, m.find() ? m.group(1) : "");
        });
        Set<String> packages = new TreeSet<>(packageOf.values());
        Map<String, Map<String, Set<String>>> uses = new TreeMap<>();
        packages.forEach(p -> uses.put(p, new TreeMap<>()));
        sources.forEach((file, text) -> {
            String from = packageOf.get(file);
            Matcher m = qualified.matcher(text);
            while (m.find()) {
                String to = m.group(1);
                while (!packages.contains(to) && to.contains(".")) { // a nested type: Outer.Inner
                    to = to.substring(0, to.lastIndexOf('.'));
                }
                if (packages.contains(to) && !to.equals(from)) {
                    uses.get(from).computeIfAbsent(to, k -> new TreeSet<>()).add(Path.of(file).getFileName().toString());
                }
            }
        });
        return uses;
    }

    /** Tarjan's strongly connected components with more than one package. */
    private static List<Set<String>> stronglyConnected(Map<String, Map<String, Set<String>>> uses) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new TreeSet<>();
        List<Set<String>> out = new ArrayList<>();
        for (String start : uses.keySet()) {
            if (!index.containsKey(start)) {
                visit(start, uses, index, low, stack, onStack, out);
            }
        }
        return out;
    }

    private static void visit(String v, Map<String, Map<String, Set<String>>> uses, Map<String, Integer> index,
                              Map<String, Integer> low, Deque<String> stack, Set<String> onStack, List<Set<String>> out) {
        index.put(v, index.size());
        low.put(v, index.get(v));
        stack.push(v);
        onStack.add(v);
        for (String w : uses.get(v).keySet()) {
            if (!index.containsKey(w)) {
                visit(w, uses, index, low, stack, onStack, out);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            Set<String> component = new TreeSet<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                component.add(w);
            } while (!w.equals(v));
            if (component.size() > 1) {
                out.add(component);
            }
        }
    }
}
