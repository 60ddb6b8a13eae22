package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.SysprepContext;
import io.guestflow.processors.sysprep.NamedOperation;
import java.util.List;

/** virt-sysprep's {@code ipa-client}: unenrol from IPA by removing its files and its CA certificate. */
public final class IpaClient extends NamedOperation {
    private static final List<String> FILES = List.of("/etc/ipa/ca.crt", "/etc/ipa/default.conf",
            "/var/lib/ipa-client/sysrestore/*", "/var/lib/ipa-client/pki/*");
    private static final List<String> CA_CERTS = List.of("/etc/pki/ca-trust/source/anchors/ipa-ca.crt",
            "/usr/local/share/ca-certificates/ipa-ca.crt", "/etc/pki/ca-trust/source/ipa.p11-kit");

    public IpaClient() {
        super("ipa-client", "Remove the IPA files", true);
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.linux(ctx);
    }

    @Override
    public void perform(SysprepContext ctx) throws Exception {
        for (String glob : FILES) {
            for (String p : ctx.glob(glob)) {
                ctx.rmQuietly(p);
            }
        }
        boolean certRemoved = false;
        for (String p : CA_CERTS) {
            if (ctx.isRemovable(p)) {
                ctx.rmQuietly(p);
                certRemoved = true;
            }
        }
        if (certRemoved) {
            CaStore.update(ctx);
        }
    }
}
