package io.guestflow.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where an engine is: its state and the checks readiness is made of — the
 * broker reached, the topics created or verified, the results index and the
 * claims caught up and following, the jobs consumer taking jobs. Created
 * before {@link Engine#start} so that a health endpoint can serve it while
 * the engine still waits for its broker; plain methods, no framework.
 */
public final class EngineStatus {
    /** The engine's life. */
    public enum State {
        /** Reaching the broker, creating or verifying topics, catching up the results index. */
        STARTING,
        /** Taking jobs. */
        READY,
        /** Started, but a check fails (the results index or the claims are not following): no job is taken. */
        NOT_READY,
        STOPPING,
        STOPPED,
        /** Start-up gave up (startup-timeout-seconds passed). */
        FAILED
    }

    /** One readiness check: its name, whether it passes, and what it sees. */
    public record Check(String name, boolean ok, String detail) {
    }

    public static final String BROKER = "broker";
    public static final String TOPICS = "topics";
    public static final String RESULTS_INDEX = "results-index";
    public static final String CLAIMS = "claims";
    public static final String CONSUMER = "jobs-consumer";

    private final Map<String, Check> startup = new LinkedHashMap<>();
    private volatile State state = State.STARTING;
    private volatile Engine engine;

    public EngineStatus() {
        for (String name : List.of(BROKER, TOPICS, RESULTS_INDEX, CLAIMS, CONSUMER)) {
            startup.put(name, new Check(name, false, "not checked yet"));
        }
    }

    /** The state now; a started engine is READY or NOT_READY depending on its checks. */
    public State state() {
        State s = state;
        if (s == State.READY || s == State.NOT_READY) {
            return checks().stream().allMatch(Check::ok) ? State.READY : State.NOT_READY;
        }
        return s;
    }

    /** Whether the engine takes jobs now (a readiness probe's answer). */
    public boolean ready() {
        return state() == State.READY;
    }

    /** Every check with its detail, live once the engine runs. */
    public List<Check> checks() {
        Engine e = engine;
        if (e == null || state == State.STOPPED) {
            synchronized (startup) {
                return new ArrayList<>(startup.values());
            }
        }
        List<Check> out = new ArrayList<>();
        ResultIndex idx = e.resultIndex();
        ClaimLedger claims = e.claims();
        boolean brokerOk = idx.state() != TopicFollower.State.RECONNECTING && claims.state() != TopicFollower.State.RECONNECTING;
        out.add(new Check(BROKER, brokerOk, brokerOk ? e.bootstrapServers()
                : (idx.state() == TopicFollower.State.RECONNECTING ? idx.reason() : claims.reason())));
        synchronized (startup) {
            out.add(startup.get(TOPICS));
        }
        out.add(new Check(RESULTS_INDEX, idx.caughtUp(), idx.state() + ": " + idx.reason()));
        out.add(new Check(CLAIMS, claims.caughtUp(), claims.state() + ": " + claims.reason()));
        String notTaking = e.consumerNotReady();
        out.add(new Check(CONSUMER, notTaking == null, notTaking == null ? "taking jobs" : notTaking));
        return out;
    }

    void check(String name, boolean ok, String detail) {
        synchronized (startup) {
            startup.put(name, new Check(name, ok, detail));
        }
    }

    void state(State s) {
        state = s;
    }

    void engine(Engine e) {
        engine = e;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(state().name());
        for (Check c : checks()) {
            b.append("; ").append(c.name()).append(c.ok() ? " ok" : " NOT ok").append(" (").append(c.detail()).append(')');
        }
        return b.toString();
    }
}
