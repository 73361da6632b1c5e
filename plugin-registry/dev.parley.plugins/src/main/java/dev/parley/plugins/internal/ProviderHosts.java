package dev.parley.plugins.internal;

import dev.parley.api.error.ParleyException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The hosts a tenant's own provider instance may point its URL settings at, per plugin, as the operator lists them
 * ({@code pluginId=host,host,...}). A host is {@code name} (the scheme's default port), {@code name:port} or
 * {@code name:*}; {@code *.domain} matches the domain's subdomains; a leading {@code http://} allows plain HTTP to it
 * (else only HTTPS). Without this a tenant could make Parley call any address on the operator's network.
 */
final class ProviderHosts {
    private record Host(boolean plainHttp, String name, String port) {
        boolean matches(String scheme, String host, int port, int defaultPort) {
            if ("http".equals(scheme) && !plainHttp) {
                return false;
            }
            boolean nameMatches = name.startsWith("*.") ? host.endsWith(name.substring(1)) && host.length() > name.length() - 1
                    : host.equals(name);
            if (!nameMatches) {
                return false;
            }
            int effective = port < 0 ? defaultPort : port;
            return this.port == null ? effective == defaultPort : "*".equals(this.port)
                    || this.port.equals(String.valueOf(effective));
        }

        @Override
        public String toString() {
            return (plainHttp ? "http://" : "") + name + (port == null ? "" : ":" + port);
        }
    }

    private final Map<String, List<Host>> byPlugin;

    private ProviderHosts(Map<String, List<Host>> byPlugin) {
        this.byPlugin = byPlugin;
    }

    /**
     * @param entries {@code pluginId=host,host} each
     * @throws IllegalArgumentException naming the malformed entry
     */
    static ProviderHosts parse(String[] entries) {
        Map<String, List<Host>> out = new LinkedHashMap<>();
        for (String raw : entries == null ? new String[0] : entries) {
            String entry = raw == null ? "" : raw.strip();
            if (entry.isEmpty()) {
                continue;
            }
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("tenant provider hosts entry '" + entry + "' is not 'pluginId=host,...'");
            }
            List<Host> hosts = out.computeIfAbsent(entry.substring(0, eq).strip(), k -> new ArrayList<>());
            for (String h : entry.substring(eq + 1).split(",")) {
                String host = h.strip().toLowerCase(Locale.ROOT);
                if (host.isEmpty()) {
                    continue;
                }
                boolean plain = host.startsWith("http://");
                if (plain) {
                    host = host.substring("http://".length());
                }
                String port = null;
                int colon = host.lastIndexOf(':');
                if (colon > 0 && !host.endsWith("]")) {
                    port = host.substring(colon + 1);
                    host = host.substring(0, colon);
                    if (!"*".equals(port) && !port.matches("[0-9]{1,5}")) {
                        throw new IllegalArgumentException("tenant provider hosts entry '" + entry + "': port '" + port
                                + "' is neither a number nor '*'");
                    }
                }
                if (host.isEmpty() || host.contains("/") || host.indexOf('*', host.startsWith("*.") ? 1 : 0) >= 0) {
                    throw new IllegalArgumentException("tenant provider hosts entry '" + entry + "': '" + h.strip()
                            + "' is not a host name, '*.domain' or an address");
                }
                hosts.add(new Host(plain, host, port));
            }
        }
        out.replaceAll((k, v) -> List.copyOf(v));
        return new ProviderHosts(Map.copyOf(out));
    }

    /** What the operator allows for {@code pluginId}, as written; empty when nothing. */
    List<String> allowed(String pluginId) {
        return byPlugin.getOrDefault(pluginId, List.of()).stream().map(Host::toString).toList();
    }

    /**
     * Refuses every value that names a URL (holds {@code ://}) unless it is an HTTP(S) URL without user info whose
     * host the operator allows for {@code pluginId}.
     *
     * @param values setting key → converted value (a string, an array or a list of strings, or another type)
     * @throws ParleyException INVALID_REQUEST naming the setting and the hosts allowed
     */
    void check(String pluginId, Map<String, Object> values) {
        for (var e : values.entrySet()) {
            for (String text : strings(e.getValue())) {
                if (text.contains("://")) {
                    checkUrl(pluginId, e.getKey(), text.strip());
                }
            }
        }
    }

    private void checkUrl(String pluginId, String key, String text) {
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw refused(pluginId, key, "is not a valid URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http")) {
            throw refused(pluginId, key, "must be an https URL");
        }
        if (uri.getRawUserInfo() != null || uri.getHost() == null) {
            throw refused(pluginId, key, "must be an https URL with a host and without user info");
        }
        String host = uri.getHost().toLowerCase(Locale.ROOT);
        int defaultPort = scheme.equals("https") ? 443 : 80;
        for (Host h : byPlugin.getOrDefault(pluginId, List.of())) {
            if (h.matches(scheme, host, uri.getPort(), defaultPort)) {
                return;
            }
        }
        throw refused(pluginId, key, "points at " + scheme + "://" + host + (uri.getPort() < 0 ? "" : ":" + uri.getPort())
                + ", which is not among the hosts the operator allows tenants for this plugin");
    }

    private ParleyException refused(String pluginId, String key, String why) {
        List<String> allowed = allowed(pluginId);
        return ParleyException.invalid("settings." + key, "Setting '" + key + "' " + why + "; allowed for plugin '"
                + pluginId + "': " + (allowed.isEmpty() ? "none (the operator lists them in PARLEY_TENANT_PROVIDER_HOSTS)"
                        : String.join(", ", allowed)) + ".");
    }

    private static List<String> strings(Object value) {
        if (value instanceof String s) {
            return List.of(s);
        }
        if (value instanceof String[] array) {
            return List.of(array);
        }
        if (value instanceof List<?> list) {
            return list.stream().filter(String.class::isInstance).map(String.class::cast).toList();
        }
        return List.of();
    }
}
