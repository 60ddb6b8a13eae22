package io.guestflow.tests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;

/**
 * Writes when each test class starts and ends, with this JVM's pid, to the
 * file named by {@code GUESTFLOW_SUITE_LEDGER} (nothing when unset).
 * {@code bench/suite-times} joins it with the appliance launches its qemu
 * wrapper records, to print seconds and launches per class.
 */
public final class SuiteLedger implements TestExecutionListener {
    private static final String FILE = System.getenv("GUESTFLOW_SUITE_LEDGER");

    @Override
    public void executionStarted(TestIdentifier id) {
        record(id, "START");
    }

    /** Classes one of whose tests did not succeed: the class's own container may still finish SUCCESSFUL. */
    private final java.util.Set<String> failedClasses = java.util.concurrent.ConcurrentHashMap.newKeySet();

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
        if (result.getStatus() == TestExecutionResult.Status.FAILED) { // skipped (ABORTED) tests are not failures
            id.getSource().filter(MethodSource.class::isInstance)
                    .ifPresent(m -> failedClasses.add(((MethodSource) m).getClassName()));
        }
        boolean testFailed = id.getSource().filter(ClassSource.class::isInstance)
                .map(c -> failedClasses.contains(((ClassSource) c).getClassName())).orElse(false);
        record(id, "END " + (testFailed && result.getStatus() == TestExecutionResult.Status.SUCCESSFUL
                ? TestExecutionResult.Status.FAILED : result.getStatus()));
    }

    private static void record(TestIdentifier id, String what) {
        if (FILE == null || id.getSource().filter(ClassSource.class::isInstance).isEmpty()) {
            return;
        }
        String cls = ((ClassSource) id.getSource().get()).getClassName();
        String line = System.currentTimeMillis() + " " + ProcessHandle.current().pid() + " " + cls + " " + what + "\n";
        try {
            Files.writeString(Path.of(FILE), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
