package io.guestflow.management;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Named checks the engine's parts report into: readiness (may this instance
 * take work: broker reachable, topics verified, dedup index caught up, pool
 * usable, scans scheduled) and liveness (is the process still worth keeping:
 * false only for faults a restart cures). A part either pushes its state
 * ({@link Check#up}, {@link Check#down}) or lets the check pull it
 * ({@link Check#pullFrom}); pulled states must be cheap, they are read on
 * every probe. {@link ManagementServer} serves them as Camel health checks.
 *
 * <p>A readiness check starts DOWN ("starting") so that a check registered
 * before its part runs keeps the engine not ready; a liveness check starts UP.
 */
public final class HealthChecks {
    /** Readiness or liveness. */
    public enum Kind { READINESS, LIVENESS }

    /** One check's answer: up or not, and a sentence for the operator. */
    public record Status(boolean up, String message) {
        public static Status up(String message) {
            return new Status(true, message);
        }

        public static Status down(String message) {
            return new Status(false, message);
        }
    }

    /** A named check a part of the engine reports into. */
    public static final class Check {
        private final String name;
        private final Kind kind;
        private volatile Status pushed;
        private volatile Supplier<Status> probe;

        private Check(String name, Kind kind, Status initial) {
            this.name = name;
            this.kind = kind;
            this.pushed = initial;
        }

        public String name() {
            return name;
        }

        public Kind kind() {
            return kind;
        }

        public void up(String message) {
            pushed = Status.up(message);
        }

        public void down(String reason) {
            pushed = Status.down(reason);
        }

        /** From now on the state is read from {@code probe} on every look (it must not block). */
        public void pullFrom(Supplier<Status> probe) {
            this.probe = probe;
        }

        public Status status() {
            Supplier<Status> p = probe;
            if (p == null) {
                return pushed;
            }
            try {
                return p.get();
            } catch (RuntimeException e) {
                return Status.down("check failed: " + e);
            }
        }
    }

    private final Map<String, Check> checks = new LinkedHashMap<>();

    /** The readiness check {@code name}, registered DOWN ("starting") if new. */
    public Check readiness(String name) {
        return check(name, Kind.READINESS, Status.down("starting"));
    }

    /** The liveness check {@code name}, registered UP if new. */
    public Check liveness(String name) {
        return check(name, Kind.LIVENESS, Status.up(""));
    }

    private synchronized Check check(String name, Kind kind, Status initial) {
        Check c = checks.computeIfAbsent(name, n -> new Check(n, kind, initial));
        if (c.kind() != kind) {
            throw new IllegalArgumentException("a check named " + name + " is already a " + c.kind() + " check");
        }
        return c;
    }

    /** Every check, in registration order. */
    public synchronized java.util.List<Check> all() {
        return java.util.List.copyOf(checks.values());
    }

    /** The current status of every check of {@code kind}, by name. */
    public Map<String, Status> statuses(Kind kind) {
        Map<String, Status> out = new LinkedHashMap<>();
        for (Check c : all()) {
            if (c.kind() == kind) {
                out.put(c.name(), c.status());
            }
        }
        return out;
    }

    public boolean ready() {
        return statuses(Kind.READINESS).values().stream().allMatch(Status::up);
    }
}
