package dev.parley.observability.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Names the route of a request path for metrics labels and span names, from a fixed list of templates, so the
 * number of label values stays bounded whatever paths clients send: a path that matches no template is "other".
 * A template segment in braces ({@code {id}}, {@code {version}}) matches any one segment; {@code {*}} as the last
 * segment matches the rest.
 */
final class RouteTemplates {
    static final String OTHER = "other";

    /** Every route Parley itself serves. Most specific first is not needed: the first full match wins. */
    static final List<String> PARLEY = List.of(
            "/v1/chat/completions",
            "/v1/responses",
            "/v1/messages",
            "/v1/messages/count_tokens",
            "/v1/embeddings",
            "/v1/models",
            "/api/v1/models",
            "/api/v1/conversations",
            "/api/v1/conversations/{id}",
            "/api/v1/conversations/{id}/messages",
            "/api/v1/chat/ws",
            "/api/v1/usage",
            "/api/v1/admin/models",
            "/api/v1/admin/models/aliases/{name}",
            "/api/v1/admin/models/claims/{*}",
            "/api/v1/registry/index.xml",
            "/api/v1/registry/plugins",
            "/api/v1/registry/plugins/{id}",
            "/api/v1/registry/plugins/{id}/{version}",
            "/api/v1/registry/plugins/{id}/{version}/artifact",
            "/api/v1/registry/plugins/{id}/{version}/signature",
            "/api/v1/admin/registry/publishers",
            "/api/v1/admin/registry/publishers/{id}",
            "/api/v1/admin/registry/{*}",
            "/api/v1/admin/plugins",
            "/api/v1/admin/plugins/{id}",
            "/api/v1/admin/plugins/{id}/{*}",
            "/api/v1/admin/loggers",
            "/api/v1/admin/loggers/{id}",
            "/health/live",
            "/health/ready",
            "/metrics");

    private final List<String[]> templates;
    /** The templates without a parameter, by path: most requests are answered here, without splitting the path. */
    private final Map<String, String> fixed;

    RouteTemplates(String... extra) {
        List<String[]> all = new ArrayList<>();
        for (String t : PARLEY) {
            all.add(segments(t));
        }
        for (String t : extra == null ? new String[0] : extra) {
            if (t != null && t.startsWith("/") && t.length() > 1) {
                all.add(segments(t.trim()));
            }
        }
        this.templates = List.copyOf(all);
        Map<String, String> exact = new HashMap<>();
        for (String[] t : templates) {
            if (Arrays.stream(t).noneMatch(RouteTemplates::isParameter)) {
                String path = "/" + String.join("/", t);
                exact.putIfAbsent(path, path);
                exact.putIfAbsent(path + "/", path);
            }
        }
        this.fixed = Map.copyOf(exact);
    }

    /** The template that {@code path} matches, or {@link #OTHER}. */
    String route(String path) {
        if (path == null || path.isEmpty()) {
            return OTHER;
        }
        String exact = fixed.get(path);
        if (exact != null) {
            return exact;
        }
        String[] parts = segments(path);
        for (String[] t : templates) {
            if (matches(t, parts)) {
                return "/" + String.join("/", t);
            }
        }
        return OTHER;
    }

    private static boolean matches(String[] template, String[] path) {
        boolean rest = template.length > 0 && template[template.length - 1].equals("{*}");
        int fixed = rest ? template.length - 1 : template.length;
        if (rest ? path.length <= fixed : path.length != fixed) {
            return false;
        }
        for (int i = 0; i < fixed; i++) {
            if (!isParameter(template[i]) && !template[i].equals(path[i])) {
                return false;
            }
            if (path[i].isEmpty()) {
                return false;
            }
        }
        return true;
    }

    private static boolean isParameter(String segment) {
        return segment.length() > 2 && segment.charAt(0) == '{' && segment.charAt(segment.length() - 1) == '}';
    }

    private static String[] segments(String path) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        if (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p.isEmpty() ? new String[0] : p.split("/", -1);
    }
}
