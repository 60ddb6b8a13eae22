package io.guestflow.settings;

import java.util.List;

/** The configuration has errors: every one of them, each naming its key, where it came from and why. */
public final class SettingsException extends IllegalArgumentException {
    private final List<String> problems;

    public SettingsException(List<String> problems) {
        super(problems.size() == 1 ? "configuration: " + problems.get(0)
                : "configuration: " + problems.size() + " problems:\n  " + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
