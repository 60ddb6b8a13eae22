package io.guestflow.cli;

import io.guestflow.config.GuestflowConfig.LogFormat;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.LoggerConfig;

/** Switches bin/guestflow's log lines between the two appenders of log4j2.xml: "text" and "json". */
final class Logging {
    private Logging() {
    }

    /** Every logger that writes to the other appender writes to {@code format}'s from now on. */
    static void useFormat(LogFormat format) {
        if (!(LogManager.getContext(false) instanceof LoggerContext ctx)) {
            return;
        }
        org.apache.logging.log4j.core.config.Configuration config = ctx.getConfiguration();
        String wanted = format == LogFormat.JSON ? "json" : "text";
        String other = format == LogFormat.JSON ? "text" : "json";
        Appender target = config.getAppender(wanted);
        if (target == null) {
            return; // someone else's configuration (tests): leave it
        }
        java.util.List<LoggerConfig> loggers = new java.util.ArrayList<>(config.getLoggers().values());
        loggers.add(config.getRootLogger());
        for (LoggerConfig lc : loggers) {
            if (lc.getAppenders().containsKey(other)) {
                lc.removeAppender(other);
                lc.addAppender(target, null, null);
            }
        }
        ctx.updateLoggers();
    }
}
