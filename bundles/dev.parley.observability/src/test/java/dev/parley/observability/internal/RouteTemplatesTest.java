package dev.parley.observability.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RouteTemplatesTest {
    private final RouteTemplates routes = new RouteTemplates("/api/v1/things/{id}");

    @Test
    void namesParleyRoutesWithTheirTemplates() {
        assertThat(routes.route("/api/v1/conversations/3f2a/messages")).isEqualTo("/api/v1/conversations/{id}/messages");
        assertThat(routes.route("/api/v1/conversations/3f2a")).isEqualTo("/api/v1/conversations/{id}");
        assertThat(routes.route("/api/v1/conversations")).isEqualTo("/api/v1/conversations");
        assertThat(routes.route("/api/v1/conversations/")).isEqualTo("/api/v1/conversations");
        assertThat(routes.route("/v1/chat/completions")).isEqualTo("/v1/chat/completions");
        assertThat(routes.route("/api/v1/admin/plugins/echo/upgrade")).isEqualTo("/api/v1/admin/plugins/{id}/{*}");
        assertThat(routes.route("/metrics")).isEqualTo("/metrics");
        assertThat(routes.route("/api/v1/registry/plugins/echo/1.2.0/signature"))
                .isEqualTo("/api/v1/registry/plugins/{id}/{version}/signature");
    }

    @Test
    void namesTheClientApisAndTheRouterAndUsageRoutes() {
        assertThat(routes.route("/v1/responses")).isEqualTo("/v1/responses");
        assertThat(routes.route("/v1/messages")).isEqualTo("/v1/messages");
        assertThat(routes.route("/v1/messages/count_tokens")).isEqualTo("/v1/messages/count_tokens");
        assertThat(routes.route("/v1/embeddings/")).isEqualTo("/v1/embeddings");
        assertThat(routes.route("/api/v1/usage")).isEqualTo("/api/v1/usage");
        assertThat(routes.route("/api/v1/admin/models")).isEqualTo("/api/v1/admin/models");
        assertThat(routes.route("/api/v1/admin/models/aliases/fast")).isEqualTo("/api/v1/admin/models/aliases/{name}");
        assertThat(routes.route("/api/v1/admin/models/claims/openai/gpt-4o"))
                .isEqualTo("/api/v1/admin/models/claims/{*}");
    }

    @Test
    void configuredTemplatesCountToo() {
        assertThat(routes.route("/api/v1/things/42")).isEqualTo("/api/v1/things/{id}");
    }

    @Test
    void anyOtherPathIsOtherSoLabelsStayBounded() {
        assertThat(routes.route("/api/v1/conversations/a/b/c")).isEqualTo("other");
        assertThat(routes.route("/random/" + System.nanoTime())).isEqualTo("other");
        assertThat(routes.route("/api/v1/conversations//messages")).isEqualTo("other");
        assertThat(routes.route("")).isEqualTo("other");
        assertThat(routes.route(null)).isEqualTo("other");
        assertThat(routes.route("/api/v1/admin/plugins/x")).isEqualTo("/api/v1/admin/plugins/{id}");
        assertThat(routes.route("/api/v1/admin/registry")).isEqualTo("other");
    }
}
