package dev.parley.sandbox.hooks.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What a plugin declared in its {@code Parley-Permissions} header, as the run-time checks read it (ADR 30): the hosts
 * and ports it may connect to, the files it may read or write, and whether (and how many) threads it may start.
 * Secrets are configuration, not checked here: a plugin never sees the environment.
 *
 * @param network    {@code host:port} targets, {@code *} wildcards in either part
 * @param files      file targets; a relative one is under the plugin's own data area
 * @param threads    whether it may start threads of its own
 * @param maxThreads the most live threads it may start; 0 when the grant names no number
 */
record PluginGrants(List<HostPort> network, List<FileGrant> files, boolean threads, int maxThreads) {
    static final String HEADER = "Parley-Permissions";
    static final PluginGrants NONE = new PluginGrants(List.of(), List.of(), false, 0);

    /**
     * A network target.
     *
     * @param declared whether the plugin's manifest declares it (an endpoint an admin configured is not declared)
     */
    record HostPort(String host, String port, Pattern hostPattern, boolean declared) {
        boolean matches(String h, int p) {
            return (port.equals("*") || port.equals(Integer.toString(p)))
                    && hostPattern.matcher(h.toLowerCase(Locale.ROOT)).matches();
        }

        /** Named without wildcards: the only way a plugin reaches Parley's own port. */
        boolean exactly(String h, int p) {
            return declared && !host.contains("*") && host.equalsIgnoreCase(h) && port.equals(Integer.toString(p));
        }

        @Override
        public String toString() {
            return host + ":" + port;
        }
    }

    /** A declared file target: a path and whether it may be read, written or both. */
    record FileGrant(String path, boolean read, boolean write) {
    }

    /** Reads the header; a clause it cannot read grants nothing (the registry refused such a plugin already). */
    static PluginGrants parse(String header) {
        if (header == null || header.isBlank()) {
            return NONE;
        }
        List<HostPort> network = new ArrayList<>();
        List<FileGrant> files = new ArrayList<>();
        boolean threads = false;
        int maxThreads = 0;
        for (String clause : split(header, ',')) {
            List<String> parts = split(clause, ';');
            String kind = parts.get(0).strip();
            String target = null;
            String actions = "";
            for (String p : parts.subList(1, parts.size())) {
                int eq = p.indexOf('=');
                if (eq < 0) {
                    continue;
                }
                String key = p.substring(0, eq).strip();
                String value = unquote(p.substring(eq + 1).strip());
                if (key.equals("target")) {
                    target = value;
                } else if (key.equals("actions")) {
                    actions = value;
                }
            }
            switch (kind) {
                case "network" -> {
                    HostPort hp = hostPort(target);
                    if (hp != null) {
                        network.add(hp);
                    }
                }
                case "file" -> {
                    if (target != null && !target.isBlank()) {
                        boolean read = actions.isBlank() || actions.contains("read");
                        boolean write = actions.isBlank() || actions.contains("write");
                        files.add(new FileGrant(target.strip(), read, write));
                    }
                }
                case "thread" -> {
                    int most;
                    try {
                        most = target == null || target.isBlank() ? 0 : Integer.parseInt(target.strip());
                    } catch (NumberFormatException e) {
                        continue;
                    }
                    // Two thread clauses: the larger grant (none limited means unlimited).
                    maxThreads = threads && (maxThreads == 0 || most == 0) ? 0 : Math.max(maxThreads, most);
                    threads = true;
                }
                default -> { }
            }
        }
        return new PluginGrants(List.copyOf(network), List.copyOf(files), threads, maxThreads);
    }

    private static HostPort hostPort(String target) {
        if (target == null) {
            return null;
        }
        String t = target.strip();
        int colon = t.lastIndexOf(':');
        if (colon <= 0 || colon == t.length() - 1) {
            return null;
        }
        String host = t.substring(0, colon).toLowerCase(Locale.ROOT);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        String port = t.substring(colon + 1);
        if (!port.equals("*") && !port.matches("[0-9]{1,5}")) {
            return null;
        }
        String regex = java.util.Arrays.stream(host.split("\\*", -1)).map(Pattern::quote)
                .collect(java.util.stream.Collectors.joining(".*"));
        return new HostPort(host, port, Pattern.compile(regex), true);
    }

    private static String unquote(String s) {
        return s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"") ? s.substring(1, s.length() - 1) : s;
    }

    /** Splits on {@code sep} outside double quotes. */
    private static List<String> split(String s, char sep) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        for (char c : s.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
            }
            if (c == sep && !quoted) {
                out.add(current.toString());
                current.setLength(0);
            } else {
                current.append(c);
            }
        }
        out.add(current.toString());
        return out;
    }
}
