package io.guestflow.processors.pipeline;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * What a pipeline did: the launch plan as it ran and every step's result in
 * order, each with the output its own job type produces.
 *
 * @param status     SUCCEEDED, or FAILED when a step failed (the job's result is then FAILED too)
 * @param failedStep index of the step that failed; absent on success
 * @param output     the job's output, once the last step that writes a new image wrote it (also when a later step failed)
 * @param launches   the appliance launches, in order
 * @param steps      one entry per step, in order
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PipelineReport(String status, Integer failedStep, String output, List<Launch> launches,
                             List<Step> steps) {

    /**
     * One appliance launch.
     *
     * @param launch       its number, from 1
     * @param mode         {@code read-only} (the disks attached read-only), {@code in-place} (writable overlays
     *                     over the disks, committed into them after the launch), {@code copy} (an overlay
     *                     over the disk, converted to the copy step's output), {@code own} (resize's layout)
     * @param steps        indexes of the steps it ran
     * @param disks        the images the steps worked on (the job's disks or an earlier step's output)
     * @param output       the new image it wrote, if any
     * @param intermediate the new image is temporary, removed when the pipeline ends
     * @param outcome      {@code not-run}, {@code done} (read-only), {@code committed}, {@code output-written},
     *                     {@code discarded} (its writes were thrown away: a sysprep failed half-way or the
     *                     appliance died) or {@code failed} (nothing to keep)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Launch(int launch, String mode, List<Integer> steps, List<String> disks, String output,
                         Boolean intermediate, String outcome) {
    }

    /**
     * One step.
     *
     * @param launch the launch it ran on
     * @param status SUCCEEDED, FAILED, REJECTED (the step found it cannot apply, e.g. no OS to seal),
     *               DISCARDED (it succeeded but its launch's writes were thrown away) or NOT_RUN
     * @param output what the step's own job type reports
     * @param error  why it failed
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Step(int index, String type, int launch, String status, Object output, Error error) {
    }

    public record Error(String code, String message) {
    }
}
