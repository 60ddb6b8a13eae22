package io.guestflow.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.guestflow.engine.Lifecycle;
import java.io.PrintStream;

/**
 * What {@code submit --wait} shows of a job's events: on a terminal one
 * progress bar, redrawn in place, with the step (libguestfs call) it is in;
 * otherwise plain lines, one per lifecycle event, warning and step change,
 * and progress at most every 10 %.
 */
final class ProgressDisplay {
    private static final int BAR_WIDTH = 30;

    private final PrintStream out;
    private final boolean terminal;
    private boolean barShown;
    private String lastStep;
    private double lastPlainPercent = -1;

    ProgressDisplay(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /** One envelope from the log topic. */
    void event(JsonNode e) {
        String type = e.path("type").asText();
        JsonNode d = e.path("data");
        String time = e.path("time").asText();
        if (type.startsWith(Lifecycle.TYPE_PREFIX)) {
            line("[" + time + "] " + type.substring(Lifecycle.TYPE_PREFIX.length()) + " " + d);
        } else if (type.endsWith(".progress")) {
            progress(time, d.path("step").asText("working"), d.path("percent").asDouble());
        } else if (type.endsWith(".warning")) {
            line("[" + time + "] warning: " + d.path("message").asText());
        }
    }

    /** Ends a bar that is still drawn. */
    void done() {
        if (barShown) {
            out.println();
            barShown = false;
        }
        out.flush();
    }

    private void progress(String time, String step, double percent) {
        if (terminal) {
            int filled = (int) Math.round(percent / 100 * BAR_WIDTH);
            out.print("\r[" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "] "
                    + String.format("%5.1f %% %-32s", percent, step));
            out.flush();
            barShown = true;
            return;
        }
        boolean newStep = !step.equals(lastStep) || percent < lastPlainPercent;
        if (newStep || percent >= 100 || percent - lastPlainPercent >= 10) {
            line("[" + time + "] " + step + " " + String.format("%.1f %%", percent));
            lastPlainPercent = percent >= 100 ? -1 : percent;
        }
        lastStep = step;
    }

    private void line(String s) {
        if (barShown) {
            out.println();
            barShown = false;
        }
        out.println(s);
    }
}
