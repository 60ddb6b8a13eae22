package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.SysprepContext;

/**
 * Commands run once, as root, when a Linux guest with systemd first boots:
 * a oneshot unit runs the scripts in order, moving each out of the way
 * before it runs so none runs twice.
 */
final class Firstboot {
    static final String DIR = "/usr/lib/guestflow-firstboot";
    private static final String UNIT = "/usr/lib/systemd/system/guestflow-firstboot.service";
    private static final String WANTS = "/etc/systemd/system/multi-user.target.wants";
    private static final String RUNNER = """
            #!/bin/sh -
            # Runs the scripts guestflow's sysprep installed, once each, then forgets them.
            d=%1$s/scripts
            done_dir=%1$s/scripts-done
            log=/root/guestflow-firstboot.log
            mkdir -p "$done_dir"
            for f in "$d"/*; do
              [ -x "$f" ] || continue
              mv "$f" "$done_dir/"
              echo "=== running $f ===" >>"$log"
              "$done_dir/$(basename "$f")" >>"$log" 2>&1
            done
            rm -f "$done_dir"/*
            """.formatted(DIR);
    private static final String SERVICE = """
            [Unit]
            Description=guestflow first-boot commands
            After=network.target

            [Service]
            Type=oneshot
            ExecStart=%s/firstboot.sh
            RemainAfterExit=yes
            StandardOutput=journal+console

            [Install]
            WantedBy=multi-user.target
            """.formatted(DIR);

    private Firstboot() {
    }

    /** Installs {@code command} as the next first-boot script; false when the guest has no systemd. */
    static boolean add(SysprepContext ctx, String command) throws Exception {
        if (!ctx.g().is_dir("/etc/systemd/system")) {
            return false;
        }
        ctx.mkdirP(DIR + "/scripts");
        if (!ctx.isFile(DIR + "/firstboot.sh")) {
            ctx.write(DIR + "/firstboot.sh", RUNNER);
            ctx.chmod(0755, DIR + "/firstboot.sh");
            ctx.mkdirP("/usr/lib/systemd/system");
            ctx.write(UNIT, SERVICE);
            ctx.mkdirP(WANTS);
            ctx.symlink(UNIT, WANTS + "/guestflow-firstboot.service");
        }
        int n = ctx.dryRun() ? 1 : ctx.g().ls(DIR + "/scripts").length + 1;
        String script = DIR + "/scripts/" + String.format("%04d", n) + "-command";
        ctx.write(script, "#!/bin/sh\n" + command + "\n");
        ctx.chmod(0755, script);
        return true;
    }
}
