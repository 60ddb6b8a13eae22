package io.guestflow.tests;

import com.redhat.et.libguestfs.GuestFS;
import com.redhat.et.libguestfs.LibGuestFSException;
import io.guestflow.pool.ApplianceHandle;
import io.guestflow.pool.Drive;
import io.guestflow.pool.GuestEventListener;
import io.guestflow.pool.HandlePool;
import io.guestflow.pool.PoolConfig;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Guests for the journal tests, built in ONE appliance launch and cached
 * under {@code <cacheRoot>/journal-fixtures/v<RECIPE>}:
 * <ul>
 *   <li>{@code journal.qcow2}: a Debian guest whose /var/log/journal/MACHINE-ID/
 *       holds two real journal files (one per boot, {@link #ENTRIES} entries
 *       in all, written by systemd-journal-remote from export format), with
 *       priorities 0-7 and entries without one, several identifiers and
 *       units, PID 1's messages about units, and "error" in some messages;</li>
 *   <li>{@code syslog.qcow2}: a guest without a journal, with /var/log/syslog;</li>
 *   <li>{@code bare.qcow2}: a guest with neither.</li>
 * </ul>
 * The journal directory is kept beside the images: it is what journalctl,
 * the oracle, reads.
 */
final class JournalFixtures {
    static final String RECIPE = "2";
    static final String MACHINE_ID = "5a1e0f4c2b3d4e5f8a9b0c1d2e3f4a5b";
    static final String BOOT1 = "b0070000000000000000000000000001";
    static final String BOOT2 = "b0070000000000000000000000000002";
    static final int BOOT1_ENTRIES = 6_000;
    static final int BOOT2_ENTRIES = 4_500;
    static final int ENTRIES = BOOT1_ENTRIES + BOOT2_ENTRIES;
    /** Realtime of the first entry: 2026-11-20T10:00:00Z. */
    static final long START_USEC = 1_763_632_800_000_000L;
    static final List<String> SYSLOG_LINES = List.of(
            "Nov 20 10:00:00 sysloghost kernel: Linux version 6.1.0-18-amd64",
            "Nov 20 10:00:01 sysloghost systemd[1]: Started ssh.service - OpenBSD Secure Shell server.",
            "Nov 20 10:00:02 sysloghost sshd[412]: Server listening on 0.0.0.0 port 22.",
            "Nov 20 10:00:03 sysloghost cron[420]: (CRON) ERROR: cannot open crontab",
            "Nov 20 10:00:04 sysloghost app[500]: ready");

    enum Guest {
        JOURNAL("journal.qcow2"), SYSLOG("syslog.qcow2"), BARE("bare.qcow2");

        final String file;

        Guest(String file) {
            this.file = file;
        }
    }

    private static final BuiltOnce<Path> DIR = BuiltOnce.cached("journal-fixtures/v" + RECIPE,
            d -> Files.isDirectory(d.resolve("journal"))
                    && Arrays.stream(Guest.values()).allMatch(x -> Files.isRegularFile(d.resolve(x.file))),
            JournalFixtures::build);

    private JournalFixtures() {
    }

    static Path dir() {
        return DIR.get();
    }

    static Path image(Guest g) {
        return dir().resolve(g.file);
    }

    /** The guest's journal directory on the host (the oracle's input). */
    static Path journalDir() {
        return dir().resolve("journal");
    }

    private static void build(Path work) throws IOException {
        try {
            Path journal = work.resolve("journal");
            Files.createDirectories(journal);
            writeJournal(journal.resolve("system@boot1.journal"), BOOT1, 0, BOOT1_ENTRIES, 11);
            writeJournal(journal.resolve("system.journal"), BOOT2, BOOT1_ENTRIES, BOOT2_ENTRIES, 12);
            List<Drive> drives = new ArrayList<>();
            for (Guest g : Guest.values()) {
                Path p = work.resolve(g.file);
                VirtTool.run(Duration.ofMinutes(1), "qemu-img", "create", "-q", "-f", "qcow2", p.toString(), "128M")
                        .orFail("qemu-img create");
                drives.add(new Drive(p.toUri(), "qcow2", false, null));
            }
            try (HandlePool pool = new HandlePool(PoolConfig.defaults().withMaxAppliances(1));
                 HandlePool.Lease lease = pool.lease("journal-fixtures")) {
                ApplianceHandle h = lease.launch(drives, GuestEventListener.NONE);
                GuestFS g = h.gfs();
                guest(g, "/dev/sda", "journalhost");
                g.mkdir_p("/var/log/journal/" + MACHINE_ID);
                try (var files = Files.list(journal)) {
                    for (Path f : files.toList()) {
                        g.upload(f.toString(), "/var/log/journal/" + MACHINE_ID + "/" + f.getFileName());
                    }
                }
                g.umount_all();
                guest(g, "/dev/sdb", "sysloghost");
                g.write("/var/log/syslog", (String.join("\n", SYSLOG_LINES) + "\n").getBytes(StandardCharsets.UTF_8));
                g.umount_all();
                guest(g, "/dev/sdc", "barehost");
                g.umount_all();
                h.shutdown();
            }
        } catch (LibGuestFSException e) {
            throw new IllegalStateException("cannot build journal fixtures: " + e.getMessage(), e);
        }
    }

    /**
     * One ext4 partition with what inspection needs to call it Debian 12; left mounted on /. Its fstab names
     * the root by label, so each guest's / stays its own when the tests attach all three to one appliance.
     */
    private static void guest(GuestFS g, String disk, String hostname) throws LibGuestFSException {
        g.part_disk(disk, "mbr");
        g.mkfs("ext4", disk + "1", Map.of("label", hostname));
        g.mount(disk + "1", "/");
        for (String d : List.of("/etc", "/bin", "/var/log", "/var/lib/dpkg")) {
            g.mkdir_p(d);
        }
        g.write("/etc/hostname", (hostname + "\n").getBytes(StandardCharsets.UTF_8));
        g.write("/etc/machine-id", (MACHINE_ID + "\n").getBytes(StandardCharsets.UTF_8));
        g.write("/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"
                .getBytes(StandardCharsets.UTF_8));
        g.write("/etc/debian_version", "12.5\n".getBytes(StandardCharsets.UTF_8));
        g.write("/etc/fstab", ("LABEL=" + hostname + " / ext4 defaults 0 1\n").getBytes(StandardCharsets.UTF_8));
        g.upload("/bin/ls", "/bin/ls"); // inspection reads the architecture from an ELF binary
    }

    /**
     * {@code count} entries of one boot in journal export format, piped to
     * systemd-journal-remote, which writes them as a real journal file.
     */
    static void writeJournal(Path file, String bootId, int firstIndex, int count, long seed) throws IOException {
        Path export = Files.createTempFile(file.getParent(), "export", ".txt");
        Random rnd = new Random(seed);
        String[][] sources = {
            {"kernel", null, "0"}, {"sshd", "ssh.service", "412"}, {"CRON", "cron.service", "420"},
            {"app1", "app1.service", "501"}, {"app2", "app2.service", "502"}, {"systemd", null, "1"}};
        String[] words = {"started", "listening", "connection from 10.0.0.7", "Error: disk quota", "error reading config",
            "session opened", "heartbeat", "ERROR code 7", "reloaded", "stopped"};
        try (Writer w = Files.newBufferedWriter(export, StandardCharsets.UTF_8)) {
            long usec = START_USEC + (long) firstIndex * 2_500_000L;
            for (int i = 0; i < count; i++) {
                usec += 1 + rnd.nextInt(4_000_000);
                String[] src = sources[rnd.nextInt(sources.length)];
                StringBuilder e = new StringBuilder();
                e.append("__REALTIME_TIMESTAMP=").append(usec).append('\n');
                e.append("__MONOTONIC_TIMESTAMP=").append(1_000_000L + (long) i * 1_000).append('\n');
                e.append("_BOOT_ID=").append(bootId).append('\n');
                e.append("_MACHINE_ID=").append(MACHINE_ID).append('\n');
                e.append("_HOSTNAME=journalhost\n");
                if (rnd.nextInt(20) != 0) { // some entries have no priority: journalctl -p leaves them out
                    e.append("PRIORITY=").append(rnd.nextInt(8)).append('\n');
                }
                e.append("SYSLOG_IDENTIFIER=").append(src[0]).append('\n');
                e.append("_PID=").append(src[2]).append('\n');
                if (src[1] != null) {
                    e.append("_SYSTEMD_UNIT=").append(src[1]).append('\n');
                    e.append("_UID=").append(rnd.nextBoolean() ? "0" : "1000").append('\n');
                } else if (src[0].equals("systemd")) {
                    // PID 1 about a unit: journalctl -u shows it for that unit
                    e.append("UNIT=").append(rnd.nextBoolean() ? "app2.service" : "cron.service").append('\n');
                    e.append("_UID=0\n");
                }
                e.append("MESSAGE=").append(src[0]).append(" #").append(firstIndex + i).append(": ")
                        .append(words[rnd.nextInt(words.length)]).append('\n');
                w.write(e.append('\n').toString());
            }
        }
        try {
            Process p = new ProcessBuilder("/lib/systemd/systemd-journal-remote", "--output=" + file, "-")
                    .redirectInput(export.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(5, java.util.concurrent.TimeUnit.MINUTES) || p.exitValue() != 0 || !Files.isRegularFile(file)) {
                p.destroyForcibly();
                throw new IllegalStateException("systemd-journal-remote could not write " + file);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            Files.deleteIfExists(export);
        }
    }
}
