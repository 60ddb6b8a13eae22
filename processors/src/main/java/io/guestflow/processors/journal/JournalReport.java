package io.guestflow.processors.journal;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The result of a journal job.
 *
 * @param entries   records published (after filters)
 * @param scanned   entries or lines read
 * @param first     realtime of the first published entry (ISO-8601), null when none or text lines
 * @param last      realtime of the last published entry
 * @param truncated true when maxEntries cut the stream
 * @param reason    why nothing was published, when nothing was
 * @param guests    per operating system found: where its log came from and what it gave
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JournalReport(long entries, long scanned, String first, String last, boolean truncated, String reason,
                            List<Guest> guests) {

    /**
     * @param root    the OS's root device
     * @param source  {@code journal}, {@code text} (classic log files, one record per line) or {@code none}
     * @param paths   what was read in the guest
     * @param notes   filters that could not apply, and similar remarks
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Guest(String root, String product, String hostname, String source, List<String> paths, long entries,
                        long scanned, List<String> notes) {
    }
}
