package io.guestflow.pool;

import java.util.List;

/**
 * Opens a launched appliance's LUKS containers with a job's keys, before an
 * operation looks at the guest, as the virt tools' {@code --key} does.
 */
public final class Decryption {
    private Decryption() {
    }

    /** Opens every encrypted container {@code keys} apply to; nothing when {@code keys} is empty. */
    public static void open(ApplianceHandle handle, List<LuksKey> keys) {
        if (keys.isEmpty()) {
            return;
        }
        // issue 20: replaced by the implementation (branch issue-20-luks) before it lands
        throw new GuestflowException(ErrorCode.OPERATION_FAILED, "decryption is not built yet");
    }
}
