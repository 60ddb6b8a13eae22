package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.NamedOperation;
import io.guestflow.processors.sysprep.OperationOption;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.SysprepOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * virt-sysprep's {@code user-account} (not enabled by default): user
 * accounts with a UID between login.defs' UID_MIN and UID_MAX leave
 * passwd, shadow and group, with their mail spool and home directory.
 * {@code removeUserAccounts} limits it to some users, {@code keepUserAccounts} spares some.
 */
public final class UserAccount extends NamedOperation {
    /** Only these users (none given: every non-system user). */
    public static final OperationOption REMOVE = new OperationOption("removeUserAccounts", "--remove-user-accounts",
            "USER", "user-account: only these users.", SysprepOptions.USER_NAME, "invalid user name");
    /** Never these users. */
    public static final OperationOption KEEP = new OperationOption("keepUserAccounts", "--keep-user-accounts",
            "USER", "user-account: never these users.", SysprepOptions.USER_NAME, "invalid user name");

    public UserAccount() {
        super("user-account", "Remove the user accounts in the guest", false);
    }

    @Override
    public List<OperationOption> options() {
        return List.of(REMOVE, KEEP);
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        Map<String, String> defs = new TreeMap<>();
        for (String line : ctx.readLines("/etc/login.defs")) {
            String[] kv = line.strip().split("\\s+");
            if (kv.length >= 2 && !kv[0].startsWith("#")) {
                defs.put(kv[0], kv[1]);
            }
        }
        if (!defs.containsKey("UID_MIN") || !defs.containsKey("UID_MAX")) {
            throw new IllegalStateException("user-account: /etc/login.defs has no UID_MIN/UID_MAX");
        }
        int min = Integer.parseInt(defs.get("UID_MIN"));
        int max = Integer.parseInt(defs.get("UID_MAX"));
        List<String> removed = new ArrayList<>();
        List<String> homes = new ArrayList<>();
        for (String line : ctx.readLines("/etc/passwd")) {
            String[] f = line.split(":", -1);
            if (f.length < 7 || line.startsWith("#")) {
                continue;
            }
            int uid = Integer.parseInt(f[2]);
            if (uid >= min && uid <= max && chosen(ctx, f[0])) {
                removed.add(f[0]);
                homes.add(f[5]);
            }
        }
        if (removed.isEmpty()) {
            return;
        }
        for (String file : List.of("/etc/passwd", "/etc/shadow", "/etc/group")) {
            if (ctx.isFile(file)) {
                dropEntries(ctx, file, removed);
            }
        }
        for (int i = 0; i < removed.size(); i++) {
            ctx.rmRf("/var/spool/mail/" + removed.get(i));
            if (!homes.get(i).isEmpty()) {
                ctx.rmRf(homes.get(i));
            }
        }
    }

    private static boolean chosen(SysprepContext ctx, String user) {
        if (ctx.options().values(KEEP).contains(user)) {
            return false;
        }
        List<String> only = ctx.options().values(REMOVE);
        return only.isEmpty() || only.contains(user);
    }

    /** Drops the lines whose first field is one of {@code users}; the file is rewritten in place. */
    private static void dropEntries(SysprepContext ctx, String file, List<String> users) throws Exception {
        String before = ctx.readText(file);
        StringBuilder after = new StringBuilder();
        for (String line : before.split("\n", -1)) {
            String name = line.split(":", 2)[0];
            if (!users.contains(name) || !line.contains(":")) {
                after.append(line).append('\n');
            }
        }
        String text = after.substring(0, after.length() - 1); // split kept the final empty piece
        if (!text.equals(before)) {
            ctx.write(file, text);
        }
    }
}
