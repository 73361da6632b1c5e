package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.registry.Signatures;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The audit trail in the runtime as shipped (Felix, Jetty, H2): admin actions over HTTP are recorded with who did
 * them, in which tenant, from where and how they ended, and read back through {@code GET /api/v1/admin/audit} with
 * filters and paging, scoped to the reader's tenant; rows read once never change afterwards.
 *
 * <p>Signed-in admins are stood in for by a test {@link BearerAuthenticator} registered by the test: credentials
 * {@code audit:subject;tenant;role,...} that the real edge accepts like any other; a request without one carries the
 * break-glass admin token.
 */
class AuditTrailTest {
    static final String PREFIX = "audit:";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    Server server;
    ServiceRegistration<BearerAuthenticator> users;
    Instant started;
    String suffix;

    /** Admins for the test: {@code audit:subject;tenant;role,...}. */
    static final class Admins implements BearerAuthenticator {
        @Override
        public boolean recognizes(String credential) {
            return credential.startsWith(PREFIX);
        }

        @Override
        public Principal authenticate(String credential) {
            String[] parts = credential.substring(PREFIX.length()).split(";", -1);
            Set<Role> roles = parts[2].isEmpty() ? Set.of()
                    : Arrays.stream(parts[2].split(",")).map(Role::fromSlug).collect(Collectors.toSet());
            return new Principal(parts[0], parts[1], roles, AuthMethod.PASSWORD, "itest", Set.of(), null, "");
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        suffix = UUID.randomUUID().toString().substring(0, 8);
        users = context.registerService(BearerAuthenticator.class, new Admins(), null);
        started = Instant.now();
    }

    @AfterEach
    void tearDown() {
        if (users != null) {
            users.unregister();
        }
    }

    private Server.Reply as(String principal, HttpRequest.Builder request) {
        if (principal != null) {
            request.header("Authorization", "Bearer " + PREFIX + principal);
        }
        return server.send(request);
    }

    private HttpRequest.Builder put(String path, String json) {
        return server.request(path).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json));
    }

    private Server.Reply audit(String principal, String query) {
        return as(principal, server.request("api/v1/admin/audit?" + query).GET());
    }

    private static String q(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    /** Every row of the audit trail since this test started that {@code filter} selects, reading page by page. */
    private List<JsonNode> all(String principal, String filter, int limit) {
        List<JsonNode> rows = new ArrayList<>();
        String cursor = null;
        do {
            var reply = audit(principal, "from=" + q(started.toString()) + "&limit=" + limit + filter
                    + (cursor == null ? "" : "&cursor=" + q(cursor)));
            assertThat(reply.status()).as(reply.body()).isEqualTo(200);
            JsonNode page = reply.json();
            assertThat(page.get("events").size()).isLessThanOrEqualTo(limit);
            page.get("events").forEach(rows::add);
            cursor = page.get("nextCursor").isNull() ? null : page.get("nextCursor").asText();
        } while (cursor != null);
        return rows;
    }

    @Test
    void adminActionsAreRecordedAndReadBackWithFiltersPagingAndTenantScope() {
        String root = "root-" + suffix + ";default;admin";
        String ann = "ann-" + suffix + ";acme-" + suffix + ";admin";
        String logger = "dev.parley.itest.audit" + suffix.replace("-", "");

        // A log level change by an operator admin, a bad one, and one on the admin token alone.
        assertThat(as(root, put("api/v1/admin/loggers/" + logger, "{\"level\":\"DEBUG\"}")).status()).isEqualTo(200);
        assertThat(as(root, put("api/v1/admin/loggers/" + logger, "{\"level\":\"LOUD\"}")).status()).isEqualTo(400);
        assertThat(as(null, put("api/v1/admin/loggers/" + logger, "{\"level\":null}")).status()).isEqualTo(200);
        // A tenant admin outside the operator tenant may not: refused at the edge, and recorded.
        var refused = as(ann, put("api/v1/admin/loggers/" + logger, "{\"level\":\"TRACE\"}"));
        assertThat(refused.status()).as(refused.body()).isEqualTo(403);
        // A router alias with a bad definition, a publisher, a plugin that is not in the registry.
        assertThat(as(root, put("api/v1/admin/models/aliases/itest-" + suffix, "{\"definition\":\"nonsense:::\"}"))
                .status()).isEqualTo(400);
        String publisher = "itest-audit-" + suffix;
        var created = as(root, server.jsonPost("api/v1/admin/registry/publishers", "{\"id\":\"" + publisher
                + "\",\"publicKey\":\"" + Signatures.generateKeyPair()[0] + "\"}"));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        var install = as(root, server.jsonPost("api/v1/admin/plugins", "{\"id\":\"no.such.plugin." + suffix + "\"}"));
        assertThat(install.status()).as(install.body()).isEqualTo(404);

        // Written off the request path: wait until all seven are stored.
        await().atMost(Duration.ofSeconds(20)).until(() -> mine(root).size() == 7);
        List<JsonNode> mine = mine(root);
        assertThat(mine).extracting(e -> e.get("action").asText() + " " + e.get("outcome").asText() + " "
                + e.get("actor").asText()).containsExactly(
                "plugin.install FAILURE root-" + suffix,
                "registry.publisher.create SUCCESS root-" + suffix,
                "router.alias.put FAILURE root-" + suffix,
                "access.denied DENIED ann-" + suffix,
                "logging.level.set SUCCESS admin-token",
                "logging.level.set FAILURE root-" + suffix,
                "logging.level.set SUCCESS root-" + suffix);
        JsonNode first = mine.get(mine.size() - 1);
        assertThat(first.get("tenant").asText()).isEqualTo("default");
        assertThat(first.get("target").asText()).isEqualTo("logger:" + logger);
        assertThat(first.get("sourceAddress").asText()).isEqualTo("127.0.0.1");
        assertThat(first.get("detail").get("level").asText()).isEqualTo("DEBUG");
        assertThat(mine.get(3).get("tenant").asText()).isEqualTo("acme-" + suffix);
        assertThat(mine.get(0).get("detail").get("error").asText()).isEqualTo("not-found");

        // Filters
        assertThat(all(root, "&actor=" + q("ann-" + suffix), 50)).singleElement()
                .satisfies(e -> assertThat(e.get("outcome").asText()).isEqualTo("DENIED"));
        assertThat(all(root, "&action=" + q("plugin.*") + "&target=" + q("plugin:no.such.plugin." + suffix), 50))
                .singleElement().satisfies(e -> assertThat(e.get("action").asText()).isEqualTo("plugin.install"));
        assertThat(all(root, "&action=logging.level.set&target=" + q("logger:" + logger), 50)).hasSize(3);
        assertThat(all(root, "&outcome=failure&target=" + q("logger:" + logger), 50)).hasSize(1);
        assertThat(all(root, "&tenant=" + q("acme-" + suffix), 50)).hasSize(1);
        var earlier = audit(root, "limit=500&to=" + q(started.toString()));
        assertThat(earlier.status()).as(earlier.body()).isEqualTo(200);
        assertThat(earlier.json().get("events")).as("before the test: none of its rows")
                .noneMatch(e -> e.get("target").asText().contains(suffix));

        // Paging: two at a time gives the same rows, newest first, each once.
        List<JsonNode> paged = all(root, "&target=" + q("logger:" + logger), 2);
        List<JsonNode> whole = all(root, "&target=" + q("logger:" + logger), 500);
        assertThat(paged).extracting(e -> e.get("id").asText()).hasSize(3).doesNotHaveDuplicates()
                .containsExactlyElementsOf(whole.stream().map(e -> e.get("id").asText()).toList())
                .isSortedAccordingTo((a, b) -> b.compareTo(a));

        // Tenant scope: ann reads her tenant's rows only, and may not ask for another tenant's.
        assertThat(all(ann, "", 50)).isNotEmpty().allSatisfy(
                e -> assertThat(e.get("tenant").asText()).isEqualTo("acme-" + suffix));
        assertThat(audit(ann, "tenant=default").status()).isEqualTo(403);
        // Who may not read it at all
        assertThat(audit("mia-" + suffix + ";default;member", "").status()).isEqualTo(403);
        var anonymous = server.sendAnonymous(server.request("api/v1/admin/audit").GET());
        assertThat(anonymous.status()).isEqualTo(401);
        assertThat(anonymous.contentType()).startsWith("application/problem+json");

        // Bad filters: 400 problems naming the parameter.
        for (var bad : Map.of("limit", "limit=501", "from", "from=yesterday", "outcome", "outcome=maybe",
                "cursor", "cursor=abc", "action", "action=a*b").entrySet()) {
            var reply = audit(root, bad.getValue());
            assertThat(reply.status()).as(bad.getValue()).isEqualTo(400);
            assertThat(reply.contentType()).startsWith("application/problem+json");
            assertThat(reply.json().get("detail").asText()).contains("'" + bad.getKey() + "'");
        }
    }

    @Test
    void rowsAreNeverUpdated() {
        String root = "root-" + suffix + ";default;admin";
        String logger = "dev.parley.itest.never" + suffix.replace("-", "");
        assertThat(as(root, put("api/v1/admin/loggers/" + logger, "{\"level\":\"DEBUG\"}")).status()).isEqualTo(200);
        assertThat(as(root, put("api/v1/admin/loggers/" + logger, "{\"level\":\"WARN\"}")).status()).isEqualTo(200);
        String target = "&target=" + q("logger:" + logger);
        await().atMost(Duration.ofSeconds(20)).until(() -> all(root, target, 50).size() == 2);
        Map<String, String> before = byId(all(root, target, 50));

        // The same action on the same target again, and again with another outcome: new rows, the old ones as they were.
        assertThat(as(root, put("api/v1/admin/loggers/" + logger, "{\"level\":\"DEBUG\"}")).status()).isEqualTo(200);
        assertThat(as(root, put("api/v1/admin/loggers/" + logger, "{\"level\":\"NOPE\"}")).status()).isEqualTo(400);
        await().atMost(Duration.ofSeconds(20)).until(() -> all(root, target, 50).size() == 4);
        Map<String, String> after = byId(all(root, target, 50));

        assertThat(after).containsAllEntriesOf(before).hasSize(4);
        assertThat(new HashSet<>(after.keySet())).containsAll(before.keySet());
    }

    /** This test's rows: those whose target names its suffix. */
    private List<JsonNode> mine(String principal) {
        return all(principal, "", 50).stream().filter(e -> e.get("target").asText().contains(suffix)).toList();
    }

    private static Map<String, String> byId(List<JsonNode> rows) {
        Map<String, String> out = new LinkedHashMap<>();
        rows.forEach(r -> out.put(r.get("id").asText(), r.toString()));
        return out;
    }
}
