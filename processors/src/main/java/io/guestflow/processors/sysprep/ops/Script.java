package io.guestflow.processors.sysprep.ops;

import io.guestflow.pool.FileTrees;
import io.guestflow.pool.Subprocess;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * virt-sysprep's {@code script}: shell commands run ON THE ENGINE HOST, as
 * the engine's user, with the guest's filesystems mounted through FUSE as
 * their current directory. That is arbitrary code execution on the host, so
 * jobs with scripts are rejected unless the configuration sets
 * {@code guestflow.engine.sysprep-host-scripts=true} (see the README).
 */
public final class Script extends NamedOperation {

    public Script() {
        super("script", "Run arbitrary scripts against the guest", true);
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return ctx.options().scripts().isEmpty() ? "no scripts given" : null;
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        if (ctx.dryRun()) {
            ctx.note("would run " + ctx.options().scripts().size() + " host script(s) in the mounted guest");
            return;
        }
        Path mountpoint = Files.createTempDirectory("guestflow-sysprep-script-");
        Process script = null;
        try {
            ctx.g().mount_local(mountpoint.toString());
            String quoted = "'" + mountpoint.toString().replace("'", "'\\''") + "'";
            // the script unmounts when it ends, whatever happens; that ends mount_local_run below.
            // It changes into the mount itself: a chdir before the FUSE loop runs would block the spawn.
            String body = "set -e\ncleanup () {\n  status=$?\n  cd /\n  guestunmount " + quoted
                    + " || :\n  exit $status\n}\ntrap cleanup INT TERM QUIT EXIT ERR\ncd " + quoted + "\n"
                    + String.join("\n", ctx.options().scripts()) + "\n";
            script = new ProcessBuilder("/bin/bash", "-c", body)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            ctx.g().mount_local_run();
            if (!script.waitFor(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("script: still running after the guest was unmounted");
            }
            if (script.exitValue() != 0) {
                throw new IllegalStateException("script failed (exit code " + script.exitValue() + ")");
            }
            ctx.note("ran " + ctx.options().scripts().size() + " host script(s) in the mounted guest");
        } finally {
            if (script != null && script.isAlive()) {
                // the script's own children too: a host script may have started anything
                Subprocess.killTree(script);
            }
            try {
                Subprocess.run(List.of("fusermount", "-u", "-q", mountpoint.toString()), Duration.ofSeconds(10));
            } catch (Subprocess.TimedOut e) {
                // killed; the mountpoint is removed below if it can be
            }
            FileTrees.delete(mountpoint);
        }
    }
}
