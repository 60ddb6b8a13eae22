package io.guestflow.processors.job;

import io.guestflow.pool.LuksKey;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads key files as the virt tools' {@code --key ID:file:FILENAME} does:
 * the passphrase is the file's first line without its {@code \n} (a
 * {@code \r} before it stays, as with the virt tools). A file must be a
 * regular file of 1 to {@value #MAX_BYTES} bytes whose first line is not
 * empty and is UTF-8. Reasons name the file as the job named it, never a
 * byte of its content.
 */
public final class KeyFiles {
    /** Larger files are not key files. */
    public static final int MAX_BYTES = 8 * 1024;

    private KeyFiles() {
    }

    /**
     * The job's keys from files inside {@code secretsDir} (the engine): a
     * relative name resolves against it, an absolute one must lie in it, and
     * the file itself, symlinks resolved, must lie in it too.
     *
     * @param secretsDir null: a job with keys is refused, naming the setting
     */
    static List<LuksKey> read(Job job, Path secretsDir) {
        if (job.keys().isEmpty()) {
            return List.of();
        }
        if (secretsDir == null) {
            throw new JobRejectedException(job.jobId(), "the job has keys but this engine has no secrets dir:"
                    + " the operator sets " + KeySource.SETTING + " to the directory key files are named under");
        }
        Path dir;
        try {
            dir = secretsDir.toRealPath();
        } catch (IOException e) {
            throw new JobRejectedException(job.jobId(), KeySource.SETTING + " (" + secretsDir + ") is not a"
                    + " readable directory: " + e.getClass().getSimpleName());
        }
        List<LuksKey> keys = new ArrayList<>();
        for (int i = 0; i < job.keys().size(); i++) {
            Job.Key k = job.keys().get(i);
            String where = "keys[" + i + "].file '" + k.file() + "'";
            Path named = dir.resolve(k.file());
            Path real;
            try {
                real = named.toRealPath();
            } catch (NoSuchFileException e) {
                throw new JobRejectedException(job.jobId(), where + " does not exist (under " + KeySource.SETTING + ")");
            } catch (IOException e) {
                throw new JobRejectedException(job.jobId(), where + " cannot be resolved: " + e.getClass().getSimpleName());
            }
            if (!real.startsWith(dir) || real.equals(dir)) {
                throw new JobRejectedException(job.jobId(), where + " is not inside " + KeySource.SETTING
                        + " (paths and symlinks must stay in it)");
            }
            keys.add(new LuksKey(k.device(), firstLine(job.jobId(), where, real)));
        }
        return List.copyOf(keys);
    }

    /**
     * The job's keys from any file the local user names (the CLI): the same
     * rules about the file's content, no directory it must lie in.
     */
    public static List<LuksKey> readLocal(Job job) {
        List<LuksKey> keys = new ArrayList<>();
        for (Job.Key k : job.keys()) {
            String where = "key file '" + k.file() + "'";
            Path real;
            try {
                real = Path.of(k.file()).toRealPath();
            } catch (NoSuchFileException e) {
                throw new JobRejectedException(job.jobId(), where + " does not exist");
            } catch (IOException e) {
                throw new JobRejectedException(job.jobId(), where + " cannot be resolved: " + e.getClass().getSimpleName());
            }
            keys.add(new LuksKey(k.device(), firstLine(job.jobId(), where, real)));
        }
        return List.copyOf(keys);
    }

    /** The passphrase in {@code file} (resolved already): its first line, as the virt tools read it. */
    static String firstLine(String jobId, String where, Path file) {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new JobRejectedException(jobId, where + " is not a regular file");
        }
        byte[] bytes;
        // read at most one byte past the bound, whatever the size said a moment ago
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        } catch (IOException e) {
            throw new JobRejectedException(jobId, where + " is not readable: " + e.getClass().getSimpleName());
        }
        try {
            if (bytes.length == 0) {
                throw new JobRejectedException(jobId, where + " is empty");
            }
            if (bytes.length > MAX_BYTES) {
                throw new JobRejectedException(jobId, where + " is larger than " + MAX_BYTES
                        + " bytes: not a key file");
            }
            int end = 0;
            while (end < bytes.length && bytes[end] != '\n') {
                end++;
            }
            if (end == 0) {
                throw new JobRejectedException(jobId, where + ": its first line is empty (the key is the first line)");
            }
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes, 0, end)).toString();
            } catch (CharacterCodingException e) {
                throw new JobRejectedException(jobId, where + ": its first line is not UTF-8");
            }
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }
}
