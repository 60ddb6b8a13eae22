package io.guestflow.processors.resize;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The result of a resize job: the plan (old and new partition table), what
 * content was grown, the written table as read back from the output, sizes
 * and timings.
 *
 * @param dryRun       true when nothing was written
 * @param output       the output image (null for a dry run)
 * @param grown        one line per grown content, e.g. "/dev/sda2: ext4 filesystem grown with resize2fs"
 * @param outputTable  the output's partition table as read back after writing (null for a dry run)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ResizeReport(boolean dryRun, String output, String outputFormat, ResizePlan plan, List<String> grown,
                           List<WrittenPartition> outputTable, Timings timings) {

    /** One partition of the written output, bytes as part_list reports them. */
    public record WrittenPartition(int number, long start, long end, long size) {
    }

    /** Milliseconds spent reading the source, copying, and growing content. */
    public record Timings(long examineMillis, long copyMillis, long expandMillis) {
    }
}
