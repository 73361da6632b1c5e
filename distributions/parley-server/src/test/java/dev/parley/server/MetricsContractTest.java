package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How MetricsContractIT reads a scrape and what it reports, on a scrape written here. */
class MetricsContractTest {
    static final String SCRAPE = """
            # HELP http_server_request_duration_seconds Duration of HTTP server requests.
            # TYPE http_server_request_duration_seconds histogram
            http_server_request_duration_seconds_bucket{http_request_method="GET",http_route="/a,b}",le="0.005"} 0
            http_server_request_duration_seconds_count{http_request_method="GET",http_route="/a \\"q\\" {x}"} 1
            http_server_request_duration_seconds_sum{http_request_method="GET",http_route="/a"} 0.1
            # TYPE parley_chat_turns_total counter
            parley_chat_turns_total{gen_ai_request_model="m",parley_chat_outcome="completed"} 2.0
            # TYPE parley_chat_turns_active gauge
            parley_chat_turns_active 0.0
            # EOF
            """;

    @Test
    void aScrapeGivesEverySeriesWithItsLabelsAndHistogramsUnderTheirBaseNameToo() {
        var exposed = MetricsContractIT.exposed(SCRAPE);
        assertThat(exposed).containsOnlyKeys("http_server_request_duration_seconds",
                "http_server_request_duration_seconds_bucket", "http_server_request_duration_seconds_count",
                "http_server_request_duration_seconds_sum", "parley_chat_turns_total", "parley_chat_turns_active");
        assertThat(exposed.get("http_server_request_duration_seconds_bucket"))
                .containsExactlyInAnyOrder("http_request_method", "http_route", "le");
        assertThat(exposed.get("http_server_request_duration_seconds"))
                .containsExactlyInAnyOrder("http_request_method", "http_route", "le");
        assertThat(exposed.get("parley_chat_turns_active")).isEmpty();
    }

    @Test
    void missingNamesAreReportedWithWhereTheyAreUsedExceptThoseTheScraperWrites() {
        var exposed = MetricsContractIT.exposed(SCRAPE);
        var missing = MetricsContractIT.missing(Map.of(
                "parley_chat_turns_total", List.of("a"),
                "parley_plugins", List.of("dashboard plugins.json, panel 'x'", "alerts.yml, alert y"),
                "up", List.of("alerts.yml, alert ParleyTargetDown")), exposed);
        assertThat(missing).containsOnlyKeys("parley_plugins");
        assertThat(missing.get("parley_plugins")).isEqualTo("dashboard plugins.json, panel 'x'; alerts.yml, alert y");
    }

    @Test
    void aLabelNoneOfTheQuerysMetricsCarriesIsReported() {
        var exposed = MetricsContractIT.exposed(SCRAPE);
        var queries = List.of(
                new ObservabilityFiles.Query("sum by (gen_ai_request_model, job) (rate(parley_chat_turns_total"
                        + "{instance=~\"$instance\", error_type!=\"\"}[5m]))", "fine", false, "{{parley_chat_outcome}}"),
                new ObservabilityFiles.Query("sum by (gen_ai_model) (rate(parley_chat_turns_total[5m]))", "typo", false,
                        ""),
                new ObservabilityFiles.Query("sum(parley_chat_turns_active)", "legend", false, "{{gen_ai_request_model}}"));
        var problems = MetricsContractIT.missingLabels(queries, exposed);
        assertThat(problems).hasSize(2);
        assertThat(problems.get(0)).contains("gen_ai_model").contains("used by: typo");
        assertThat(problems.get(1)).contains("gen_ai_request_model").contains("used by: legend");
    }
}
