package io.guestflow.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.Map;
import org.junit.jupiter.api.Test;

class DriveTest {

    @Test
    void plainPathBecomesAnAbsoluteFileUri() {
        Drive d = Drive.of("images/../images/web01.qcow2");
        assertThat(d.isLocal()).isTrue();
        assertThat(d.path()).isAbsolute();
        assertThat(d.path().toString()).endsWith("/images/web01.qcow2").doesNotContain("..");
        assertThat(d.readOnly()).isTrue();
        assertThat(d.format()).isNull();
    }

    @Test
    void localDriveOptionsCarryFormatReadonlyAndLabel() {
        Drive d = Drive.of("file:///var/images/a.img").withFormat("RAW").withLabel("boot").withReadOnly(false);
        assertThat(d.filename()).isEqualTo("/var/images/a.img");
        assertThat(d.addDriveOptions()).containsExactly(
                Map.entry("format", "raw"), Map.entry("readonly", false), Map.entry("label", "boot"));
    }

    @Test
    void discardAndCachemodeReachAddDriveOnlyWhenSet() {
        Drive d = Drive.of("/var/images/a.qcow2").withFormat("qcow2").withReadOnly(false)
                .withDiscard("enable").withCachemode("unsafe");
        assertThat(d.addDriveOptions()).containsEntry("discard", "enable").containsEntry("cachemode", "unsafe");
        assertThat(d.withFormat("raw").discard()).as("kept by the with-methods").isEqualTo("enable");
        assertThat(Drive.of("/var/images/a.qcow2").withFormat("qcow2").addDriveOptions())
                .doesNotContainKeys("discard", "cachemode");
        GuestflowException e = catchThrowableOfType(() -> d.withDiscard("always"), GuestflowException.class);
        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_DRIVE);
    }

    /** A remote drive never reaches add_drive_opts: libguestfs would put its URL on qemu's command line. */
    @Test
    void remoteDrivesAreNeverGivenToLibguestfs() {
        for (String uri : new String[] {"nbd://storage.example:10809/export1", "https://cdn.example/images/f.img?sig=abc",
                "ssh://admin@host.example:2222/srv/vm.img"}) {
            Drive d = Drive.of(uri).withFormat("raw");
            assertThat(catchThrowableOfType(IllegalStateException.class, d::addDriveOptions).getMessage())
                    .contains("attached as its local overlay").doesNotContain("sig=abc");
            assertThat(catchThrowableOfType(IllegalStateException.class, d::filename)).isNotNull();
        }
    }

    @Test
    void sshPassesTheUserNameAndRefusesAPassword() {
        assertThat(RemoteImage.backingName(Drive.of("ssh://admin@host.example:2222/srv/vm.img").withFormat("raw"), false, 60)).contains("\"user\":\"admin\"").contains("\"host\":\"host.example\",\"port\":\"2222\"");
        // libguestfs would write a password into qemu's command line: it never gets one
        GuestflowException e = catchThrowableOfType(GuestflowException.class,
                () -> Drive.of("ssh://admin:hunter2@host.example:2222/srv/vm.img"));
        assertThat(e.getMessage()).contains("carries a password").doesNotContain("hunter2").doesNotContain("admin:");
    }

    @Test
    void formatMustBeResolvedBeforeLaunch() {
        assertThat(catchThrowableOfType(IllegalStateException.class, () -> Drive.of("/x.img").addDriveOptions()))
                .hasMessageContaining("not resolved");
    }

    @Test
    void badDrivesAreRejectedWithTheReason() {
        assertThat(catchThrowableOfType(GuestflowException.class, () -> Drive.of("ftp://h/x.img")).getMessage())
                .contains("unsupported URI scheme 'ftp'");
        assertThat(catchThrowableOfType(GuestflowException.class, () -> Drive.of("nbd:///export")).getMessage())
                .contains("names no host");
        assertThat(catchThrowableOfType(GuestflowException.class, () -> Drive.of("/x.img").withLabel("sda-1")).getMessage())
                .contains("1-20 ASCII letters");
        assertThat(catchThrowableOfType(GuestflowException.class, () -> Drive.of("")).code())
                .isEqualTo(ErrorCode.INVALID_DRIVE);
        assertThat(catchThrowableOfType(GuestflowException.class, () -> Drive.of("http://h/a b")).getMessage())
                .contains("malformed disk URI");
    }

    @Test
    void remoteDriveMustNameItsFormat() {
        GuestflowException e = catchThrowableOfType(GuestflowException.class,
                () -> new ImageProbe().resolve(Drive.of("nbd://h:10809/e"), false));
        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_DRIVE);
        assertThat(e.getMessage()).contains("must name its format");
    }

    @Test
    void credentialsInUrisNeverReachMessages() {
        GuestflowException e = catchThrowableOfType(GuestflowException.class, () -> Drive.of("ssh://root:hunter2@/vm.img"));
        assertThat(e.getMessage()).contains("names no host").doesNotContain("hunter2");
        e = catchThrowableOfType(GuestflowException.class, () -> Drive.of("gopher://u:hunter2@h/x"));
        assertThat(e.getMessage()).doesNotContain("hunter2");
        e = catchThrowableOfType(GuestflowException.class, () -> Drive.of("ssh://u:hunter2@h/a b"));
        assertThat(e.getMessage()).doesNotContain("hunter2");
        assertThat(Drive.redact("https://u:p@h/x")).isEqualTo("https://***@h/x");
        // a password holding '@' (or '/') is masked whole, and so is a query
        assertThat(Drive.redact("https://u:p@ss/w@rd@h/x?token=abc&x=1")).isEqualTo("https://***@h/x?***");
        e = catchThrowableOfType(GuestflowException.class, () -> Drive.of("https://u:p@ss@h/x"));
        assertThat(e.getMessage()).doesNotContain("ss@").doesNotContain("p@");
    }

    /** Well-formed URIs that are no local path: refused with a reason, never an unchecked exception. */
    @Test
    void fileUrisWithAHostAQueryAFragmentOrANulAreRefused() {
        Map<String, String> cases = Map.of(
                "file://host/x.qcow2", "names a host",
                "file:///x.qcow2?q=1", "has a query",
                "file:///x.qcow2#f", "has a fragment",
                "file:///x%00.qcow2", "NUL byte",
                "/images/x\u0000.qcow2", "NUL byte");
        cases.forEach((uri, why) -> {
            GuestflowException e = catchThrowableOfType(() -> Drive.of(uri), GuestflowException.class);
            assertThat(e).as(uri).isNotNull();
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_DRIVE);
            assertThat(e.getMessage()).as(uri).contains(why);
        });
    }
}
