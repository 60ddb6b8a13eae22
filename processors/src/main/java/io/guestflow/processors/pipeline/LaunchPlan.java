package io.guestflow.processors.pipeline;

import io.guestflow.processors.job.DiskAccess;
import java.util.ArrayList;
import java.util.List;

/**
 * Which steps of a pipeline share which appliance launch. Steps keep their
 * order and a launch takes a run of consecutive steps; a step joins the
 * current launch when its way of using the disks fits with the steps already
 * there, otherwise it starts the next launch:
 * <ul>
 *   <li>{@link DiskAccess#READ} steps join any launch but a resize's;</li>
 *   <li>{@link DiskAccess#TRIM_IN_PLACE} joins a launch that only read so far or writes in place;</li>
 *   <li>{@link DiskAccess#WRITE_IN_PLACE} and {@link DiskAccess#COPY_TO_OUTPUT} join only a launch
 *       where nothing was written yet: a sysprep that fails half-way throws away its launch's writes,
 *       which must then be its own; a copy's overlay must start from the disk as it is;</li>
 *   <li>{@link DiskAccess#OWN_LAUNCH} (resize) always has a launch to itself.</li>
 * </ul>
 * Any run of consecutive steps inside a launch that fits also fits on its
 * own, so taking each step into the current launch whenever it fits (greedy)
 * gives the fewest launches.
 */
public record LaunchPlan(List<Launch> launches) {

    /** What a launch attaches, decided by its first step that writes. */
    public enum Mode {
        /** the disks, read-only */
        READ_ONLY("read-only"),
        /** writable qcow2 overlays over the disks, committed into them after the launch */
        IN_PLACE("in-place"),
        /** an overlay over the disk that becomes the copy step's output after the launch */
        COPY("copy"),
        /** the resize step's own layout: the new disk beside the old one */
        OWN("own");

        public final String label;

        Mode(String label) {
            this.label = label;
        }

        @com.fasterxml.jackson.annotation.JsonValue
        public String label() {
            return label;
        }
    }

    /** One appliance launch: its mode and the indexes of its steps, in order. */
    public record Launch(Mode mode, List<Integer> steps) {
    }

    /** The fewest launches for steps whose disk accesses are {@code access}, in order. */
    public static LaunchPlan of(List<DiskAccess> access) {
        List<Launch> launches = new ArrayList<>();
        Mode mode = null;
        List<Integer> current = null;
        for (int i = 0; i < access.size(); i++) {
            DiskAccess a = access.get(i);
            Mode joined = current == null ? null : join(mode, a);
            if (joined == null) {
                if (current != null) {
                    launches.add(new Launch(mode, List.copyOf(current)));
                }
                current = new ArrayList<>();
                joined = a == DiskAccess.OWN_LAUNCH ? Mode.OWN : join(Mode.READ_ONLY, a);
            }
            mode = joined;
            current.add(i);
        }
        if (current != null) {
            launches.add(new Launch(mode, List.copyOf(current)));
        }
        return new LaunchPlan(List.copyOf(launches));
    }

    /** The mode of a launch in {@code mode} once a step of {@code access} joined it; null when it cannot. */
    static Mode join(Mode mode, DiskAccess access) {
        return switch (access) {
            case READ -> mode == Mode.OWN ? null : mode;
            case TRIM_IN_PLACE -> mode == Mode.READ_ONLY || mode == Mode.IN_PLACE ? Mode.IN_PLACE : null;
            case WRITE_IN_PLACE -> mode == Mode.READ_ONLY ? Mode.IN_PLACE : null;
            case COPY_TO_OUTPUT -> mode == Mode.READ_ONLY ? Mode.COPY : null;
            case OWN_LAUNCH -> null;
        };
    }
}
