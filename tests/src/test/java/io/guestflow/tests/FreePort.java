package io.guestflow.tests;

import java.io.IOException;
import java.net.ServerSocket;

/** A TCP port nobody listens on now, on any interface: for a broker or an endpoint a test stops and starts again on it. */
final class FreePort {
    private FreePort() {
    }

    static int get() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
