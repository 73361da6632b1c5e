package dev.parley.server;

import static dev.parley.server.ObservabilityFiles.DATASOURCE_UID;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The observability/ folder without a server: the shape Grafana's file provisioning and Prometheus need, every
 * query's metric names resolvable, the README documenting each name and alert, and promtool's own checks of the
 * Prometheus files (config, rules, the rules' unit tests) and of every dashboard query's PromQL syntax.
 *
 * <p>promtool comes with Debian's {@code prometheus} package; {@code .ci/run} installs it. Without it the promtool
 * tests fail and say so; {@code -Dparley.promtool=skip} skips them on purpose (reported as skipped).
 */
class DashboardsAndAlertsTest {
    static final Pattern DURATION = Pattern.compile("^(\\d+(ms|s|m|h|d|w|y))+$");
    static final Set<String> SEVERITIES = Set.of("critical", "warning", "info");
    static final Set<String> PANELS_WITHOUT_QUERIES = Set.of("row", "text", "dashlist", "news");

    // ---- Grafana ------------------------------------------------------------------------------------------------

    @Test
    void theProvisionedDataSourceIsPrometheusWithTheUidTheDashboardsName() {
        JsonNode file = ObservabilityFiles.yaml(ObservabilityFiles.dir().resolve("grafana/provisioning/datasources/prometheus.yml"));
        assertThat(file.path("apiVersion").asInt()).isEqualTo(1);
        assertThat(file.path("datasources")).hasSize(1);
        JsonNode ds = file.path("datasources").get(0);
        assertThat(ds.path("uid").asText()).isEqualTo(DATASOURCE_UID);
        assertThat(ds.path("type").asText()).isEqualTo("prometheus");
        assertThat(ds.path("access").asText()).isEqualTo("proxy");
        assertThat(ds.path("url").asText()).isNotBlank();
        assertThat(ds.path("name").asText()).isNotBlank();
    }

    @Test
    void theDashboardProviderReadsTheDashboardFolder() {
        JsonNode file = ObservabilityFiles.yaml(ObservabilityFiles.dir().resolve("grafana/provisioning/dashboards/parley.yml"));
        assertThat(file.path("apiVersion").asInt()).isEqualTo(1);
        assertThat(file.path("providers")).hasSize(1);
        JsonNode provider = file.path("providers").get(0);
        assertThat(provider.path("type").asText()).isEqualTo("file");
        assertThat(provider.path("name").asText()).isNotBlank();
        assertThat(provider.at("/options/path").asText()).isNotBlank();
    }

    @Test
    void theFiveDashboardsAreThere() {
        assertThat(ObservabilityFiles.dashboards()).map(p -> p.getFileName().toString()).containsExactlyInAnyOrder(
                "overview.json", "models-and-cost.json", "streams-and-latency.json", "plugins.json", "jvm.json");
    }

    @Test
    void everyDashboardHasTheShapeGrafanaProvisioningNeeds() {
        var problems = new ArrayList<String>();
        var uids = new HashMap<String, Path>();
        var titles = new HashMap<String, Path>();
        for (Path file : ObservabilityFiles.dashboards()) {
            JsonNode d = ObservabilityFiles.json(file);
            String where = file.getFileName().toString();
            String uid = d.path("uid").asText();
            if (uid.isBlank() || uid.length() > 40 || !uid.matches("[a-zA-Z0-9_-]+")) {
                problems.add(where + ": uid must be 1-40 letters, digits, '-' or '_': '" + uid + "'");
            }
            Path other = uids.put(uid, file);
            if (other != null) {
                problems.add(where + ": uid '" + uid + "' is also used by " + other.getFileName());
            }
            String title = d.path("title").asText();
            if (title.isBlank()) {
                problems.add(where + ": no title");
            }
            other = titles.put(title, file);
            if (other != null) {
                problems.add(where + ": title '" + title + "' is also used by " + other.getFileName());
            }
            if (!d.path("schemaVersion").isInt() || d.path("schemaVersion").asInt() < 36) {
                problems.add(where + ": schemaVersion must be a number >= 36");
            }
            if (d.has("id") && !d.path("id").isNull()) {
                problems.add(where + ": a provisioned dashboard must not carry a database id");
            }
            if (d.path("panels").isEmpty()) {
                problems.add(where + ": no panels");
            }
            checkInstanceVariable(d, where, problems);
            checkPanels(d, where, problems);
        }
        assertThat(problems).as("dashboard problems").isEmpty();
    }

    private static void checkInstanceVariable(JsonNode d, String where, List<String> problems) {
        var names = new HashSet<String>();
        boolean instance = false;
        for (JsonNode v : d.at("/templating/list")) {
            if (!names.add(v.path("name").asText())) {
                problems.add(where + ": variable $" + v.path("name").asText() + " twice");
            }
            if (v.path("type").asText().equals("query") && !v.at("/datasource/uid").asText().equals(DATASOURCE_UID)) {
                problems.add(where + ": variable $" + v.path("name").asText() + " must use data source " + DATASOURCE_UID);
            }
            instance |= v.path("name").asText().equals("instance") && v.path("type").asText().equals("query");
        }
        if (!instance) {
            problems.add(where + ": no query variable 'instance'");
        }
    }

    private static void checkPanels(JsonNode d, String dashboard, List<String> problems) {
        var ids = new HashSet<Integer>();
        var placed = new ArrayList<int[]>();
        ObservabilityFiles.forEachPanel(d, p -> {
            String where = "%s, panel '%s' (id %s)".formatted(dashboard, p.path("title").asText(), p.path("id").asText());
            if (!p.path("id").isInt()) {
                problems.add(where + ": id must be a number");
            } else if (!ids.add(p.path("id").asInt())) {
                problems.add(where + ": duplicate panel id " + p.path("id").asInt());
            }
            String type = p.path("type").asText();
            if (type.isBlank()) {
                problems.add(where + ": no type");
            }
            if (p.path("title").asText().isBlank()) {
                problems.add(where + ": no title");
            }
            JsonNode g = p.path("gridPos");
            if (!(g.path("h").isInt() && g.path("w").isInt() && g.path("x").isInt() && g.path("y").isInt())) {
                problems.add(where + ": gridPos needs whole numbers h, w, x and y");
            } else {
                int[] box = { g.path("x").asInt(), g.path("y").asInt(), g.path("w").asInt(), g.path("h").asInt() };
                if (box[0] < 0 || box[2] < 1 || box[0] + box[2] > 24 || box[3] < 1) {
                    problems.add(where + ": gridPos outside Grafana's 24 columns: " + g);
                }
                for (int[] o : placed) {
                    if (box[0] < o[0] + o[2] && o[0] < box[0] + box[2] && box[1] < o[1] + o[3] && o[1] < box[1] + box[3]) {
                        problems.add(where + ": overlaps another panel at " + g);
                    }
                }
                placed.add(box);
            }
            if (PANELS_WITHOUT_QUERIES.contains(type)) {
                return;
            }
            if (!p.at("/datasource/uid").asText().equals(DATASOURCE_UID)) {
                problems.add(where + ": datasource must be the provisioned Prometheus (uid " + DATASOURCE_UID + ")");
            }
            if (p.path("targets").isEmpty()) {
                problems.add(where + ": no targets");
            }
            var refIds = new HashSet<String>();
            for (JsonNode t : p.path("targets")) {
                String ref = t.path("refId").asText();
                if (ref.isBlank() || !refIds.add(ref)) {
                    problems.add(where + ": target refId missing or repeated: '" + ref + "'");
                }
                if (t.path("expr").asText().isBlank()) {
                    problems.add(where + ", query " + ref + ": no expr");
                }
                if (t.has("datasource") && !t.at("/datasource/uid").asText().equals(DATASOURCE_UID)) {
                    problems.add(where + ", query " + ref + ": datasource must be " + DATASOURCE_UID);
                }
                if (!t.path("expr").asText().contains("instance=~\"$instance\"")) {
                    problems.add(where + ", query " + ref + ": does not filter on instance=~\"$instance\"");
                }
            }
        });
    }

    // ---- queries --------------------------------------------------------------------------------------------------

    @Test
    void everyQueryNamesMetricsTheExtractorCanResolve() {
        var problems = new ArrayList<String>();
        for (var q : ObservabilityFiles.queries()) {
            try {
                var names = q.names();
                if (names.metrics().isEmpty()) {
                    problems.add(q.where() + ": selects no metric: " + q.expr());
                }
                if (!names.unresolved().isEmpty()) {
                    problems.add(q.where() + ": a metric name is a pattern, which cannot be checked: " + names.unresolved());
                }
            } catch (IllegalArgumentException e) {
                problems.add(q.where() + ": " + e.getMessage());
            }
        }
        assertThat(problems).isEmpty();
        assertThat(ObservabilityFiles.referencedMetrics()).as("metric names referenced").hasSizeGreaterThan(30);
    }

    @Test
    void theReadmeDocumentsEveryMetricTheFilesUse() throws IOException {
        String readme = Files.readString(ObservabilityFiles.dir().resolve("README.md"));
        var undocumented = new ArrayList<String>();
        ObservabilityFiles.referencedMetrics().forEach((name, where) -> {
            String base = name.replaceFirst("_(bucket|sum|count)$", "");
            if (!readme.contains("`" + name + "`") && !readme.contains("`" + base + "`")) {
                undocumented.add(name + " (used by " + where.get(0) + ")");
            }
        });
        assertThat(undocumented).as("metric names missing from observability/README.md's reference").isEmpty();
    }

    // ---- Prometheus ------------------------------------------------------------------------------------------------

    @Test
    void everyAlertRuleHasTheFieldsOperatorsAndRoutingRelyOn() throws IOException {
        JsonNode rules = ObservabilityFiles.yaml(ObservabilityFiles.alertsFile());
        String readme = Files.readString(ObservabilityFiles.dir().resolve("README.md")).toLowerCase(Locale.ROOT);
        var problems = new ArrayList<String>();
        var groups = new HashSet<String>();
        var alerts = new HashSet<String>();
        assertThat(rules.path("groups")).isNotEmpty();
        for (JsonNode group : rules.path("groups")) {
            if (!groups.add(group.path("name").asText())) {
                problems.add("group '" + group.path("name").asText() + "' twice");
            }
            for (JsonNode rule : group.path("rules")) {
                String alert = rule.path("alert").asText();
                String where = "alert '" + alert + "'";
                if (alert.isBlank()) {
                    problems.add("a rule in group " + group.path("name").asText() + " has no alert name: " + rule);
                    continue;
                }
                if (!alerts.add(alert)) {
                    problems.add(where + ": defined twice");
                }
                if (rule.path("expr").asText().isBlank()) {
                    problems.add(where + ": no expr");
                }
                if (!DURATION.matcher(rule.path("for").asText()).matches()) {
                    problems.add(where + ": 'for' must be a duration such as 5m: '" + rule.path("for").asText() + "'");
                }
                if (!SEVERITIES.contains(rule.at("/labels/severity").asText())) {
                    problems.add(where + ": labels.severity must be one of " + SEVERITIES);
                }
                for (String annotation : List.of("summary", "description", "runbook")) {
                    if (rule.at("/annotations/" + annotation).asText().isBlank()) {
                        problems.add(where + ": no annotations." + annotation);
                    }
                }
                String anchor = "README.md#" + alert.toLowerCase(Locale.ROOT);
                if (!rule.at("/annotations/runbook").asText().startsWith(anchor)) {
                    problems.add(where + ": annotations.runbook must start with " + anchor);
                }
                if (!readme.contains("### " + alert.toLowerCase(Locale.ROOT))) {
                    problems.add(where + ": no '### " + alert + "' runbook section in observability/README.md");
                }
            }
        }
        assertThat(problems).isEmpty();
        assertThat(alerts).contains("ParleyHttp5xxErrorRateHigh", "ParleyChatTurnFailureRateHigh",
                "ParleyTimeToFirstTokenP99High", "ParleyProviderErrorRateHigh", "ParleyReadinessFlapping",
                "ParleyPluginFailed", "ParleyPluginReconcilerLagHigh", "ParleyHeapNearLimit", "ParleyStorePoolExhausted");
    }

    @Test
    void theAlertsThatCannotBeBuiltYetAreListedAsNotYetAlertable() throws IOException {
        String readme = Files.readString(ObservabilityFiles.dir().resolve("README.md"));
        int section = readme.indexOf("## Not yet alertable");
        assertThat(section).as("a 'Not yet alertable' section").isPositive();
        String text = readme.substring(section).toLowerCase(Locale.ROOT);
        assertThat(text).contains("circuit breaker").contains("quarantine");
    }

    @Test
    void thePrometheusConfigsLoadTheAlertRulesBesideThem() {
        for (String name : List.of("prometheus.yml", "prometheus-kubernetes.yml")) {
            Path config = ObservabilityFiles.dir().resolve("prometheus").resolve(name);
            JsonNode c = ObservabilityFiles.yaml(config);
            assertThat(c.path("rule_files")).as(name).anySatisfy(f -> assertThat(f.asText()).isEqualTo("alerts.yml"));
            assertThat(c.path("scrape_configs")).as(name).anySatisfy(s -> {
                assertThat(s.path("job_name").asText()).isEqualTo("parley");
                assertThat(s.path("metrics_path").asText()).isEqualTo("/metrics");
            });
        }
        String local = readString(ObservabilityFiles.dir().resolve("prometheus/prometheus.yml"));
        assertThat(local).as("the commented bearer-token variant").contains("PARLEY_METRICS_TOKEN")
                .contains("#   type: Bearer").contains("#   credentials_file:");
    }

    @Test
    void promtoolAcceptsTheRules() throws Exception {
        promtool(ObservabilityFiles.dir().resolve("prometheus"), "check", "rules", "alerts.yml");
    }

    @Test
    void promtoolAcceptsTheScrapeConfig() throws Exception {
        promtool(ObservabilityFiles.dir().resolve("prometheus"), "check", "config", "prometheus.yml");
    }

    /**
     * Debian's promtool is built without Kubernetes discovery ("field kubernetes_sd_configs not found"), so the
     * Kubernetes variant is checked with its discovery block swapped for a static target and its token file for an
     * empty one: everything else (relabelling regexes, authorization, rule files) goes through promtool as written.
     */
    @Test
    void promtoolAcceptsTheKubernetesVariantApartFromItsDiscoveryBlock(@TempDir Path temp) throws Exception {
        Path source = ObservabilityFiles.dir().resolve("prometheus");
        ObjectNode config = (ObjectNode) ObservabilityFiles.yaml(source.resolve("prometheus-kubernetes.yml"));
        Path token = Files.writeString(temp.resolve("token"), "t");
        for (JsonNode scrape : config.path("scrape_configs")) {
            ObjectNode s = (ObjectNode) scrape;
            assertThat(s.has("kubernetes_sd_configs")).isTrue();
            s.remove("kubernetes_sd_configs");
            ArrayNode statics = s.putArray("static_configs");
            statics.addObject().putArray("targets").add("pod.parley.svc:8080");
            if (s.has("authorization")) {
                ((ObjectNode) s.path("authorization")).put("credentials_file", token.toString());
            }
        }
        Files.copy(source.resolve("alerts.yml"), temp.resolve("alerts.yml"));
        ObservabilityFiles.YAML.writeValue(temp.resolve("prometheus.yml").toFile(), config);
        promtool(temp, "check", "config", "prometheus.yml");
    }

    @Test
    void theAlertRulesFireOnTheSeriesOfTheirUnitTests() throws Exception {
        promtool(ObservabilityFiles.dir().resolve("prometheus"), "test", "rules", "tests/alerts-test.yml");
    }

    /**
     * Every dashboard query, with Grafana's variables replaced by values, as a recording rule that promtool parses:
     * a PromQL syntax check of the dashboards without a Prometheus server.
     */
    @Test
    void promtoolParsesEveryDashboardQuery(@TempDir Path temp) throws Exception {
        ObjectNode file = JsonNodeFactory.instance.objectNode();
        ArrayNode rules = file.putArray("groups").addObject().put("name", "dashboard-queries").putArray("rules");
        for (var q : ObservabilityFiles.queries()) {
            if (q.where().startsWith("alerts.yml") || q.grafanaVariable()) {
                continue;
            }
            rules.addObject().put("record", "dashboard:query").put("expr", withVariablesReplaced(q.expr()))
                    .putObject("labels").put("where", q.where());
        }
        assertThat(rules.size()).isGreaterThan(50);
        ObservabilityFiles.YAML.writeValue(temp.resolve("dashboard-queries.yml").toFile(), file);
        promtool(temp, "check", "rules", "dashboard-queries.yml");
    }

    static String withVariablesReplaced(String expr) {
        Matcher m = Pattern.compile("\\$\\{?(\\w+)(:\\w+)?\\}?").matcher(expr);
        var out = new StringBuilder();
        while (m.find()) {
            // Grafana's interval variables are durations; the dashboards' own variables stand in regex matchers.
            m.appendReplacement(out, m.group(1).startsWith("__") ? "5m" : ".*");
        }
        return m.appendTail(out).toString();
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    static void promtool(Path dir, String... args) throws Exception {
        String promtool = System.getProperty("parley.promtool", "promtool");
        Assumptions.assumeFalse(promtool.equals("skip"), "promtool checks skipped on request (-Dparley.promtool=skip)");
        var command = new ArrayList<String>();
        command.add(promtool);
        command.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("promtool is not installed: install Debian's prometheus package "
                    + "(apt-get install prometheus; .ci/run does), point -Dparley.promtool at a promtool binary, or "
                    + "skip these checks on purpose with -Dparley.promtool=skip", e);
        }
        byte[] output = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("promtool %s in %s:%n%s", String.join(" ", args), dir,
                new String(output, StandardCharsets.UTF_8)).isZero();
    }

    static String readString(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
