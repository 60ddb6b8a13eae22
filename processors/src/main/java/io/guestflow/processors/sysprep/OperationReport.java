package io.guestflow.processors.sysprep;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.List;

/**
 * What one operation did on one guest: whether it ran (or why it was
 * skipped), and the paths it removed and changed (created files count as
 * changed). The lists keep the first {@link #LIST_LIMIT} paths; the counts
 * are exact. In a dry run these are the paths it would remove or change.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public final class OperationReport {
    public static final int LIST_LIMIT = 100;

    private final String name;
    private boolean ran;
    private String skipped;
    private final List<String> removed = new ArrayList<>();
    private final List<String> changed = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private int removedCount;
    private int changedCount;

    OperationReport(String name) {
        this.name = name;
    }

    void removed(String path) {
        removedCount++;
        if (removed.size() < LIST_LIMIT) {
            removed.add(path);
        }
    }

    void changed(String path) {
        if (changed.contains(path)) {
            return;
        }
        changedCount++;
        if (changed.size() < LIST_LIMIT) {
            changed.add(path);
        }
    }

    void note(String text) {
        notes.add(text);
    }

    void ran() {
        ran = true;
    }

    void skipped(String reason) {
        skipped = reason;
    }

    public String getName() {
        return name;
    }

    public boolean isRan() {
        return ran;
    }

    public String getSkipped() {
        return skipped;
    }

    public List<String> getRemoved() {
        return removed;
    }

    public List<String> getChanged() {
        return changed;
    }

    /** Warnings and what was done that is not a path (host scripts, commands run in the guest). */
    public List<String> getNotes() {
        return notes;
    }

    public int getRemovedCount() {
        return removedCount;
    }

    public int getChangedCount() {
        return changedCount;
    }
}
