package dev.parley.web.ws.internal;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which web pages may open the chat WebSocket. Browsers send the page's {@code Origin} with every WebSocket
 * handshake and, unlike for other requests, enforce no same-origin rule themselves: without this check any page a
 * signed-in user visits could open a socket with the user's browser (cross-site WebSocket hijacking).
 *
 * <p>Allowed: no {@code Origin} at all (programs, not browsers); the server's own origin (the {@code Origin}'s host
 * and port equal the {@code Host} the request came to; the scheme is not compared, because TLS often ends at a
 * proxy in front); and the configured entries.
 */
final class OriginPolicy {
    private static final Logger LOG = LoggerFactory.getLogger(OriginPolicy.class);

    /** One allowed origin: scheme and host as written (lower case), port -1 for any. */
    private record Entry(String scheme, String host, int port) {
        boolean matches(String s, String h, int p) {
            return scheme.equals(s) && host.equals(h) && (port == -1 || port == p);
        }
    }

    private final List<Entry> entries;
    private final boolean any;

    private OriginPolicy(List<Entry> entries, boolean any) {
        this.entries = List.copyOf(entries);
        this.any = any;
    }

    /** The policy of the configured entries; an entry that cannot be read allows nothing and is logged. */
    static OriginPolicy of(String[] configured) {
        List<Entry> entries = new ArrayList<>();
        boolean any = false;
        for (String raw : configured == null ? new String[0] : configured) {
            String value = raw == null ? "" : raw.strip();
            if (value.isEmpty()) {
                continue;
            }
            if (value.equals("*")) {
                any = true;
                continue;
            }
            Entry e = parseEntry(value);
            if (e == null) {
                LOG.warn("ws allowed origin ignored, not scheme://host[:port|:*] entry={}", value);
            } else {
                entries.add(e);
            }
        }
        return new OriginPolicy(entries, any);
    }

    /**
     * @param origin the request's {@code Origin} header, null when it has none
     * @param host   the request's {@code Host} header (host[:port]), null when it has none
     */
    boolean allows(String origin, String host) {
        if (origin == null) {
            return true;
        }
        if (any) {
            return true;
        }
        URI uri = parse(origin.strip());
        if (uri == null) {
            return false;
        }
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        String originHost = uri.getHost().toLowerCase(Locale.ROOT);
        int originPort = uri.getPort() != -1 ? uri.getPort() : defaultPort(scheme);
        if (host != null && sameHostAndPort(originHost, originPort, scheme, host)) {
            return true;
        }
        for (Entry e : entries) {
            if (e.matches(scheme, originHost, originPort)) {
                return true;
            }
        }
        return false;
    }

    private static boolean sameHostAndPort(String originHost, int originPort, String originScheme, String hostHeader) {
        URI h = parse("http://" + hostHeader.strip());
        if (h == null) {
            return false;
        }
        if (!h.getHost().toLowerCase(Locale.ROOT).equals(originHost)) {
            return false;
        }
        // A Host without a port names the default port of whatever scheme the client used: the Origin's.
        return h.getPort() == -1 ? originPort == defaultPort(originScheme) : h.getPort() == originPort;
    }

    private static Entry parseEntry(String value) {
        boolean anyPort = value.endsWith(":*");
        URI uri = parse(anyPort ? value.substring(0, value.length() - 2) : value);
        if (uri == null || (uri.getPath() != null && !uri.getPath().isEmpty()) || uri.getQuery() != null) {
            return null;
        }
        if (anyPort && uri.getPort() != -1) {
            return null;
        }
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        int port = anyPort ? -1 : uri.getPort() != -1 ? uri.getPort() : defaultPort(scheme);
        return new Entry(scheme, uri.getHost().toLowerCase(Locale.ROOT), port);
    }

    /** An origin {@code scheme://host[:port]} (http or https), or null. */
    private static URI parse(String value) {
        try {
            URI uri = new URI(value);
            String scheme = uri.getScheme();
            if (scheme == null || uri.getHost() == null || uri.getUserInfo() != null || uri.getFragment() != null
                    || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
                return null;
            }
            return uri;
        } catch (URISyntaxException e) {
            return null;
        }
    }

    private static int defaultPort(String scheme) {
        return scheme.equals("https") ? 443 : 80;
    }

    @Override
    public String toString() {
        return any ? "*" : entries.toString();
    }
}
