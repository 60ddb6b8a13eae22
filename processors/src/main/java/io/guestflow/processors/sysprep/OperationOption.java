package io.guestflow.processors.sysprep;

import java.util.regex.Pattern;

/**
 * An option of sysprep jobs that belongs to one operation, declared by that
 * operation ({@link SysprepOperation#options()}), as virt-sysprep's
 * operations declare their own command-line arguments: its job field, its
 * command-line flag, what it means, and the check of each value. Its value is
 * a list of strings, given as a JSON array or one comma-separated string
 * ({@code --flag a,b} on the command line). Job parsing, the command line
 * and the job schema's check all read these declarations.
 *
 * @param field       the key in a job's {@code options}
 * @param flag        the {@code guestflow sysprep} option
 * @param paramLabel  what one value is, in the command's help
 * @param description one line, for the command's help
 * @param valid       what every value must match
 * @param invalid     what a value that does not match is, in the rejection ("invalid user name")
 */
public record OperationOption(String field, String flag, String paramLabel, String description, Pattern valid,
                              String invalid) {
}
