package io.guestflow.pool;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The remote hosts that jobs may name in disk URIs (configuration:
 * {@code guestflow.pool.remote-hosts}); empty, the default, allows no remote
 * disk at all. An entry is {@code host} (any port) or {@code host:port}, an
 * IPv6 address in brackets ({@code [fd00::5]:10809}). Names are compared
 * normalised: lower case, without a trailing dot, IPv6 literals in one
 * canonical form (no DNS lookup is ever made: {@code localhost} and
 * {@code 127.0.0.1} are different entries). A URI without a port is taken at
 * its scheme's default port (nbd 10809, http 80, https 443, ssh 22).
 *
 * @param writes         whether jobs may change disks on these hosts in place
 *                       ({@code guestflow.pool.remote-writes}); see {@link #refusesWrites}
 * @param timeoutSeconds how long qemu's curl driver waits for one request to an http(s) disk
 *                       ({@code guestflow.pool.remote-timeout-seconds}); see {@link RemoteImage}
 */
public record RemoteHosts(List<Entry> entries, boolean writes, int timeoutSeconds) {

    /** The default of {@code guestflow.pool.remote-timeout-seconds}. */
    public static final int DEFAULT_TIMEOUT_SECONDS = 60;

    /** @param port -1: any port */
    public record Entry(String host, int port) {
        @Override
        public String toString() {
            String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
            return port < 0 ? h : h + ":" + port;
        }
    }

    /** The schemes whose qemu block driver can write: nbd and ssh (qemu's curl driver, http(s), is read-only). */
    private static final java.util.Set<String> WRITABLE_SCHEMES = java.util.Set.of("nbd", "ssh");

    private static final Map<String, Integer> DEFAULT_PORTS = Map.of("nbd", 10809, "http", 80, "https", 443, "ssh", 22);

    public RemoteHosts {
        entries = List.copyOf(entries);
        if (timeoutSeconds < 1) {
            throw new IllegalArgumentException("remote timeout must be at least 1 s, not " + timeoutSeconds);
        }
    }

    public RemoteHosts(List<Entry> entries, boolean writes) {
        this(entries, writes, DEFAULT_TIMEOUT_SECONDS);
    }

    public static RemoteHosts none() {
        return new RemoteHosts(List.of(), false);
    }

    /** A comma-separated list as the configuration writes it; throws IllegalArgumentException naming a bad entry. */
    public static RemoteHosts parse(String csv) {
        List<Entry> out = new ArrayList<>();
        for (String raw : csv.split(",")) {
            String s = raw.strip();
            if (!s.isEmpty()) {
                out.add(entry(s));
            }
        }
        return new RemoteHosts(out, false);
    }

    private static Entry entry(String s) {
        String host;
        String port = null;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("'" + s + "': an IPv6 address needs its closing bracket");
            }
            host = s.substring(1, close);
            String rest = s.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    throw new IllegalArgumentException("'" + s + "': only ':port' may follow the brackets");
                }
                port = rest.substring(1);
            }
            if (host.indexOf(':') < 0) {
                throw new IllegalArgumentException("'" + s + "': brackets are for IPv6 addresses");
            }
        } else {
            int colon = s.indexOf(':');
            if (colon >= 0 && s.indexOf(':', colon + 1) >= 0) {
                throw new IllegalArgumentException("'" + s + "': write an IPv6 address in brackets, [addr] or [addr]:port");
            }
            host = colon < 0 ? s : s.substring(0, colon);
            port = colon < 0 ? null : s.substring(colon + 1);
        }
        String normalized = normalize(host);
        if (normalized.isEmpty() || !normalized.matches("[a-z0-9.:-]+") || normalized.startsWith(".")
                || normalized.contains("..")) {
            throw new IllegalArgumentException("'" + s + "' is not a host name or address (host or host:port)");
        }
        int p = -1;
        if (port != null) {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                p = 0;
            }
            if (p < 1 || p > 65535) {
                throw new IllegalArgumentException("'" + s + "': the port must be 1-65535");
            }
        }
        return new Entry(normalized, p);
    }

    /** Lower case, no trailing dot, no brackets, IPv6 literals canonical ({@code ::1} = {@code 0:0:0:0:0:0:0:1}). */
    public static String normalize(String host) {
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        while (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        if (h.indexOf(':') >= 0 && h.matches("[0-9a-f:.]+")) {
            try {
                // a literal: parsed, never looked up
                h = InetAddress.getByName("[" + h + "]").getHostAddress().toLowerCase(Locale.ROOT);
            } catch (UnknownHostException e) {
                // not an address after all: compared as written
            }
        }
        return h;
    }

    /** These hosts, with in-place writes allowed or not. */
    public RemoteHosts withWrites(boolean allowed) {
        return new RemoteHosts(entries, allowed, timeoutSeconds);
    }

    /** These hosts, with qemu's curl driver waiting {@code seconds} for each request. */
    public RemoteHosts withTimeoutSeconds(int seconds) {
        return new RemoteHosts(entries, writes, seconds);
    }

    /**
     * Why a job may not change the remote {@code drive} in place, or null when
     * it may: writes must be allowed ({@code guestflow.pool.remote-writes}) and
     * the protocol able to write (nbd, ssh). Opens nothing; whether the host
     * is allowed at all is {@link #check}'s to say, as for any remote disk.
     */
    public String refusesWrites(Drive drive) {
        if (drive.isLocal()) {
            return null;
        }
        String scheme = String.valueOf(drive.uri().getScheme()).toLowerCase(Locale.ROOT);
        if (!writes) {
            return "remote disks are not written in place unless guestflow.pool.remote-writes=true (now false)";
        }
        if (!WRITABLE_SCHEMES.contains(scheme)) {
            return scheme + " disks are read-only: qemu's curl driver cannot write, so only nbd:// and ssh:// disks"
                    + " are written in place (guestflow.pool.remote-writes)";
        }
        return null;
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Whether a remote URI's host (and port) is listed. */
    public boolean allows(URI uri) {
        if (uri.getHost() == null) {
            return false;
        }
        String host = normalize(uri.getHost());
        int port = uri.getPort() > 0 ? uri.getPort()
                : DEFAULT_PORTS.getOrDefault(String.valueOf(uri.getScheme()).toLowerCase(Locale.ROOT), -1);
        return entries.stream().anyMatch(e -> e.host().equals(host) && (e.port() < 0 || e.port() == port));
    }

    /**
     * Refuses a remote drive whose host is not listed, naming the host and the
     * setting; never opens anything. The URI in the message is redacted.
     */
    public void check(Drive drive) {
        if (drive.isLocal() || allows(drive.uri())) {
            return;
        }
        URI u = drive.uri();
        String host = u.getHost() == null ? "(none)" : u.getHost() + (u.getPort() > 0 ? ":" + u.getPort() : "");
        throw new GuestflowException(ErrorCode.REMOTE_HOST_REFUSED, "disk " + Drive.redact(u) + " names host " + host
                + ", which is not an allowed remote host (guestflow.pool.remote-hosts: "
                + (isEmpty() ? "empty, no remote disks allowed" : toString()) + ")");
    }

    @Override
    public String toString() {
        return entries.stream().map(Entry::toString).collect(Collectors.joining(","));
    }
}
