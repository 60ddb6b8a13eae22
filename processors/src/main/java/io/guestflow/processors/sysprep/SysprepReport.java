package io.guestflow.processors.sysprep;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The output of a sysprep job: per guest (inspection root) its identity and
 * what each selected operation did. In a dry run nothing was changed and the
 * paths are what a real run would remove or change.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SysprepReport(boolean dryRun, List<Guest> guests, int removedCount, int changedCount) {

    /** One guest's identity, as inspected before any change, and its operations. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Guest(String root, String type, String distro, String productName, String hostname,
                        int majorVersion, int minorVersion, String arch, List<OperationReport> operations) {

        public OperationReport operation(String name) {
            return operations.stream().filter(o -> o.getName().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("operation " + name + " was not selected"));
        }
    }
}
