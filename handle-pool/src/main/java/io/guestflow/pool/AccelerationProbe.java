package io.guestflow.pool;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides once per process whether appliances run with KVM or TCG. With
 * {@code auto}: no usable {@code /dev/kvm} means TCG; otherwise a test launch
 * with KVM decides (on hosts where KVM is present but broken qemu aborts in
 * well under a second). No environment variable is needed.
 */
public final class AccelerationProbe {
    private static final Logger LOG = LoggerFactory.getLogger(AccelerationProbe.class);
    private static final Path KVM = Path.of("/dev/kvm");
    /** Generous: on a fresh machine the first launch also builds the appliance. */
    static final Duration PROBE_TIMEOUT = Duration.ofSeconds(120);

    private static volatile Decision decided;

    /** What was decided and why. */
    public record Decision(Acceleration acceleration, String reason) {
    }

    private AccelerationProbe() {
    }

    /** The decision for this process; probes on first call when {@code requested} is AUTO. */
    public static synchronized Decision decide(Acceleration requested, PoolConfig config) {
        if (requested == Acceleration.KVM || requested == Acceleration.TCG) {
            return new Decision(requested, "configured");
        }
        if (decided == null) {
            ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "guestflow-accel-probe");
                t.setDaemon(true);
                return t;
            });
            try {
                decided = probe(config, timer);
            } finally {
                timer.shutdownNow();
            }
            LOG.info("appliance acceleration: {} ({})", decided.acceleration(), decided.reason());
        }
        return decided;
    }

    private static Decision probe(PoolConfig config, ScheduledExecutorService timer) {
        if (!Files.exists(KVM)) {
            return new Decision(Acceleration.TCG, "no /dev/kvm");
        }
        if (!Files.isReadable(KVM) || !Files.isWritable(KVM)) {
            return new Decision(Acceleration.TCG, "/dev/kvm is not accessible to this user");
        }
        long start = System.nanoTime();
        try (ApplianceHandle h = new ApplianceHandle("accel-probe", config, Acceleration.KVM, GuestEventListener.NONE, timer)) {
            h.gfs().add_drive_scratch(1024 * 1024);
            h.launch(PROBE_TIMEOUT);
            return new Decision(Acceleration.KVM, "test launch with KVM succeeded in " + ms(start) + " ms");
        } catch (Exception e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
            return new Decision(Acceleration.TCG, "test launch with KVM failed after " + ms(start) + " ms: " + msg);
        }
    }

    private static long ms(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }
}
