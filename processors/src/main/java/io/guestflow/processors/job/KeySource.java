package io.guestflow.processors.job;

import io.guestflow.pool.LuksKey;
import java.nio.file.Path;
import java.util.List;

/**
 * Where a job's LUKS keys come from, read just before the job runs (after
 * its disks are checked, before any appliance slot is leased) and kept only
 * for that run. A refusal is a {@link JobRejectedException}: the job is
 * REJECTED before anything launches.
 */
@FunctionalInterface
public interface KeySource {
    /** The setting that names the engine's secrets dir. */
    String SETTING = "guestflow.engine.secrets-dir";

    /** No secrets dir: jobs without keys run, a job with keys is REJECTED with a reason naming the setting. */
    KeySource NONE = secretsDir(null);

    /** The passphrases of {@code job}'s keys, in the job's order; empty for a job without keys. */
    List<LuksKey> keys(Job job);

    /**
     * The engine's policy: every key file resolves (symlinks included) inside
     * {@code dir}; {@code dir} null refuses every job that has keys.
     */
    static KeySource secretsDir(Path dir) {
        return job -> KeyFiles.read(job, dir);
    }
}
