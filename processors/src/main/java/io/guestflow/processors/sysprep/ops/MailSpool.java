package io.guestflow.processors.sysprep.ops;

import io.guestflow.processors.sysprep.RemoveFiles;

/** virt-sysprep's {@code mail-spool}: remove email from the local mail spool directory. */
public final class MailSpool extends RemoveFiles {
    public MailSpool() {
        super("mail-spool", "Remove email from the local mail spool directory", true, How.RM_RF,
                "/var/spool/mail/*",
                "/var/mail/*");
    }
}
