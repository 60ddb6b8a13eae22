package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.GuestScope;
import io.guestflow.processors.sysprep.RemoveFiles;
import io.guestflow.processors.sysprep.SysprepContext;
import java.util.Set;

/**
 * virt-sysprep's {@code ca-certificates} (not enabled by default): local CA
 * certificates and keys; the distribution's bundles stay, and the system CA
 * store is rebuilt when something was removed.
 */
public final class CaCertificates extends RemoveFiles {
    public CaCertificates() {
        super("ca-certificates", "Remove CA certificates in the guest", false, How.RM_QUIETLY,
                "/etc/pki/CA/certs/*.crt",
                "/etc/pki/CA/crl/*.crt",
                "/etc/pki/CA/newcerts/*.crt",
                "/etc/pki/CA/private/*.key",
                "/etc/pki/tls/private/*.key",
                "/etc/pki/tls/certs/*.crt");
    }

    @Override
    protected Set<String> kept() {
        return Set.of("/etc/pki/tls/certs/ca-bundle.crt", "/etc/pki/tls/certs/ca-bundle.trust.crt");
    }

    @Override
    public String skipReason(SysprepContext ctx) {
        return GuestScope.notWindows(ctx);
    }

    @Override
    protected void afterRemoval(SysprepContext ctx) throws Exception {
        CaStore.update(ctx);
    }
}
