package dev.parley.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The repository's observability/ folder as the tests read it: the Grafana dashboards and provisioning, the
 * Prometheus configuration and alert rules, and every PromQL query in them with where it is used.
 */
final class ObservabilityFiles {
    static final ObjectMapper JSON = new ObjectMapper();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    /** The uid of the provisioned Prometheus data source, which every dashboard names. */
    static final String DATASOURCE_UID = "parley-prometheus";

    private ObservabilityFiles() {
    }

    /**
     * One PromQL query and where it is used, e.g. "dashboard overview.json, panel 'Requests / s' (id 2), query A", with
     * its panel legend (empty when none).
     */
    record Query(String expr, String where, boolean grafanaVariable, String legend) {
        private static final Pattern LEGEND_LABEL = Pattern.compile("\\{\\{\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\s*}}");

        PromQl.Names names() {
            return grafanaVariable ? PromQl.variableQueryMetricNames(expr) : PromQl.metricNames(expr);
        }

        /** The labels the query matches on, groups by, or shows in its legend ({{label}}). */
        Set<String> labels() {
            var labels = new LinkedHashSet<>(names().labels());
            Matcher m = LEGEND_LABEL.matcher(legend);
            while (m.find()) {
                labels.add(m.group(1));
            }
            return labels;
        }
    }

    /** The folder: system property {@code parley.observability.dir} (set by the build), else found upwards. */
    static Path dir() {
        String configured = System.getProperty("parley.observability.dir");
        if (configured != null) {
            return Path.of(configured).toAbsolutePath().normalize();
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("observability/grafana"))) {
                return p.resolve("observability");
            }
        }
        throw new IllegalStateException("no observability/ folder above " + Path.of("").toAbsolutePath());
    }

    static Path dashboardsDir() {
        return dir().resolve("grafana/dashboards");
    }

    static Path alertsFile() {
        return dir().resolve("prometheus/alerts.yml");
    }

    static List<Path> dashboards() {
        try (Stream<Path> files = Files.list(dashboardsDir())) {
            return files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode json(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    static JsonNode yaml(Path file) {
        try {
            return YAML.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** Every panel of a dashboard, those inside (collapsed) rows included. */
    static void forEachPanel(JsonNode dashboard, Consumer<JsonNode> action) {
        for (JsonNode panel : dashboard.path("panels")) {
            action.accept(panel);
            for (JsonNode nested : panel.path("panels")) {
                action.accept(nested);
            }
        }
    }

    /** Every query of every dashboard panel and template variable, and every alert rule's expression. */
    static List<Query> queries() {
        var queries = new ArrayList<Query>();
        for (Path file : dashboards()) {
            String dashboard = "dashboard " + file.getFileName();
            JsonNode d = json(file);
            forEachPanel(d, panel -> {
                for (JsonNode target : panel.path("targets")) {
                    queries.add(new Query(target.path("expr").asText(), "%s, panel '%s' (id %s), query %s".formatted(
                            dashboard, panel.path("title").asText(), panel.path("id").asText(),
                            target.path("refId").asText()), false, target.path("legendFormat").asText()));
                }
            });
            for (JsonNode variable : d.at("/templating/list")) {
                if (variable.path("type").asText().equals("query")) {
                    JsonNode query = variable.path("query");
                    String text = query.isObject() ? query.path("query").asText() : query.asText();
                    queries.add(new Query(text, "%s, variable $%s".formatted(dashboard, variable.path("name").asText()),
                            true, ""));
                }
            }
        }
        for (JsonNode group : yaml(alertsFile()).path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                String name = rule.has("alert") ? "alert " + rule.path("alert").asText()
                        : "recording rule " + rule.path("record").asText();
                queries.add(new Query(rule.path("expr").asText(), "alerts.yml, group %s, %s".formatted(
                        group.path("name").asText(), name), false, ""));
            }
        }
        return queries;
    }

    /** Metric name → where it is used, sorted by name. */
    static Map<String, List<String>> referencedMetrics() {
        var used = new TreeMap<String, List<String>>();
        for (Query q : queries()) {
            for (String name : q.names().metrics()) {
                used.computeIfAbsent(name, n -> new ArrayList<>()).add(q.where());
            }
        }
        return used;
    }
}
