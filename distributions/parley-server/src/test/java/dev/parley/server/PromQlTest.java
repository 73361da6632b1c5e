package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The metric-name extractor on the expressions that trip naive ones. */
class PromQlTest {

    static java.util.Set<String> names(String expr) {
        var found = PromQl.metricNames(expr);
        assertThat(found.unresolved()).as("unresolved selectors in %s", expr).isEmpty();
        return found.metrics();
    }

    @Test
    void aHistogramQuantileOverARateWithGrafanaVariables() {
        assertThat(names("histogram_quantile(0.99, sum by (le, gen_ai_request_model) "
                + "(rate(parley_chat_time_to_first_token_seconds_bucket{instance=~\"$instance\"}[$__rate_interval])))"))
                .containsExactly("parley_chat_time_to_first_token_seconds_bucket");
    }

    @Test
    void labelListsAfterByWithoutOnIgnoringAndGroupModifiersAreNotMetrics() {
        assertThat(names("sum without (instance, job) (rate(a_total[5m] offset 1h))")).containsExactly("a_total");
        assertThat(names("a / on (job, instance) group_left (version, le) b")).containsExactly("a", "b");
        assertThat(names("a * ignoring(code) group_right(x) b")).containsExactly("a", "b");
        assertThat(names("sum(rate(c_total[5m])) by (le)")).containsExactly("c_total");
        assertThat(names("SUM(foo) BY (le) > BOOL 1")).containsExactly("foo");
        // group_left with no label list: the next identifier is an operand.
        assertThat(names("a * on(x) group_left b")).containsExactly("a", "b");
    }

    @Test
    void aNameMatcherIsAMetricAndOtherMatchersAreNot() {
        assertThat(names("{__name__=\"http_server_active_requests\", http_request_method=\"GET\"}"))
                .containsExactly("http_server_active_requests");
        assertThat(names("sum({__name__ = 'x_total'})")).containsExactly("x_total");
        var regex = PromQl.metricNames("{__name__=~\"jvm_.*\"}");
        assertThat(regex.metrics()).isEmpty();
        assertThat(regex.unresolved()).containsExactly("__name__=~\"jvm_.*\"");
        assertThat(PromQl.metricNames("{__name__!=\"a\", job=\"b\"}").unresolved()).hasSize(1);
    }

    @Test
    void aQuotedNameAloneInBracesIsAMetric() {
        assertThat(names("rate({\"http.server.request.duration\", le=\"1\"}[5m])"))
                .containsExactly("http.server.request.duration");
    }

    @Test
    void stringsAreSkippedWhateverTheyHoldEscapesIncluded() {
        assertThat(names("label_replace(foo, \"dst\", \"$1\", \"src\", \"(sum|rate)\\\\(.*\")")).containsExactly("foo");
        assertThat(names("foo{path=\"/a{b}[c]\", re=~\"x|sum(y)\", q='it\\'s', raw=`a\\`}")).containsExactly("foo");
        assertThat(names("count_values(\"version\", build_info)")).containsExactly("build_info");
    }

    @Test
    void rangesSubqueriesOffsetsAndAtModifiers() {
        assertThat(names("max_over_time(rate(x_total[5m])[1h:1m])")).containsExactly("x_total");
        assertThat(names("x @ start() - y @ 1609746000 + z offset -5m")).containsExactly("x", "y", "z");
        assertThat(names("rate(foo[$__interval]) * $factor / ${bar:raw}")).containsExactly("foo");
        assertThat(names("increase(a_total[1h30m])")).containsExactly("a_total");
    }

    @Test
    void numbersKeywordsAndFunctionsAreNotMetrics() {
        assertThat(names("1e-3 * foo + 0x1F - Inf + NaN + .5 + 2E+10")).containsExactly("foo");
        assertThat(names("a and b unless c or d")).containsExactly("a", "b", "c", "d");
        assertThat(names("vector(1) + time() + scalar(x)")).containsExactly("x");
        assertThat(names("topk(5, sum by (x) (foo))")).containsExactly("foo");
        assertThat(names("quantile(0.9, bar) + stddev(baz) + limitk(2, qux)")).containsExactly("bar", "baz", "qux");
        assertThat(names("atan2(a, b) + (c atan2 d)")).contains("c", "d");
        assertThat(names("absent(nonexistent{job=\"x\"})")).containsExactly("nonexistent");
        assertThat(names("rate (spaced_total [5m])")).containsExactly("spaced_total");
    }

    @Test
    void recordingRuleNamesWithColonsAndComments() {
        assertThat(names("job:http_requests:rate5m # by (not, a, metric)\n + other")).containsExactly(
                "job:http_requests:rate5m", "other");
    }

    @Test
    void multiLineAlertExpressions() {
        assertThat(names("""
                (
                    sum by (job, instance) (rate(http_server_request_duration_seconds_count{http_response_status_code=~"5.."}[5m]))
                  /
                    sum by (job, instance) (rate(http_server_request_duration_seconds_count[5m]))
                ) > 0.05
                and on (job)
                sum by (job, instance) (rate(parley_chat_turns_total[5m])) > 0.1
                """)).containsExactly("http_server_request_duration_seconds_count", "parley_chat_turns_total");
    }

    @ParameterizedTest
    @ValueSource(strings = { "sum(foo", "foo)", "foo{a=\"b\"", "rate(foo[5m)", "\"unterminated", "foo{a}",
            "foo{a=b}", "foo}", "x[5m]]", "${oops" })
    void malformedInputIsRefusedWithThePosition(String expr) {
        assertThatThrownBy(() -> PromQl.metricNames(expr)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(" at ");
    }

    @Test
    void theLabelsAQueryMatchesOnOrGroupsByAreCollected() {
        var found = PromQl.metricNames("sum by (le, gen_ai_request_model) (rate(x_bucket{instance=~\"$instance\", "
                + "__name__=\"x_bucket\"}[5m])) / on (job) group_left (version) y{error_type!=\"\"} "
                + "+ sum without (\"quoted.label\") (z)");
        assertThat(found.metrics()).containsExactly("x_bucket", "y", "z");
        assertThat(found.labels()).containsExactlyInAnyOrder("le", "gen_ai_request_model", "instance", "job",
                "version", "error_type", "quoted.label");
        assertThat(PromQl.metricNames("label_replace(foo, \"dst\", \"$1\", \"src\", \"(.*)\")").labels())
                .as("strings are not labels").isEmpty();
    }

    @Test
    void grafanaVariableQueries() {
        assertThat(PromQl.variableQueryMetricNames("label_values(target_info, instance)").metrics())
                .containsExactly("target_info");
        assertThat(PromQl.variableQueryMetricNames(
                "label_values(gen_ai_client_operation_duration_seconds_count{instance=~\"$instance\"}, gen_ai_request_model)")
                .metrics()).containsExactly("gen_ai_client_operation_duration_seconds_count");
        assertThat(PromQl.variableQueryMetricNames(
                "label_values(gen_ai_client_operation_duration_seconds_count{instance=~\"$instance\"}, gen_ai_request_model)")
                .labels()).containsExactly("instance", "gen_ai_request_model");
        assertThat(PromQl.variableQueryMetricNames("label_values(instance)").metrics()).isEmpty();
        assertThat(PromQl.variableQueryMetricNames("label_values(instance)").labels()).containsExactly("instance");
        assertThat(PromQl.variableQueryMetricNames("query_result(topk(5, up))").metrics()).containsExactly("up");
    }
}
