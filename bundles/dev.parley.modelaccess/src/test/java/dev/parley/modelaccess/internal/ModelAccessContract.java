package dev.parley.modelaccess.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.api.routing.ModelAccess;
import dev.parley.api.routing.ModelAccess.TenantModels;
import dev.parley.db.Database;
import dev.parley.db.SqlWork;
import dev.parley.db.internal.PooledDatabase;
import java.lang.annotation.Annotation;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.service.event.Event;

/**
 * Model access in a real database (H2 and PostgreSQL subclasses), through two components on one database (two
 * nodes): the operator's plugin rules and a tenant admin's settings decide each tenant's view; a change applies at
 * once on the node that made it, on the other after its cache time or when the change event reaches it; answers
 * come from the cache; a database that fails keeps what was cached and refuses what was not.
 */
abstract class ModelAccessContract {
    protected PooledDatabase database;
    private final AtomicLong nanos = new AtomicLong(1_000);
    private final AtomicInteger transactions = new AtomicInteger();
    private final AtomicBoolean failing = new AtomicBoolean();
    private DatabaseModelAccess node1;
    private DatabaseModelAccess node2;
    private final Principal carol = new Principal("carol", "acme", Set.of(Role.ADMIN), AuthMethod.PASSWORD, "t",
            Set.of(), null, "s1");

    protected abstract PooledDatabase open() throws Exception;

    protected void afterDatabaseClosed() throws Exception {
    }

    static ModelAccessConfig config(int cacheSeconds) {
        return new ModelAccessConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return ModelAccessConfig.class;
            }

            @Override
            public int cacheSeconds() {
                return cacheSeconds;
            }

            @Override
            public int cacheMaxTenants() {
                return 10_000;
            }
        };
    }

    /** The real database, counting transactions and failing on demand. */
    private Database counting(Database delegate) {
        return new Database() {
            @Override
            public <T> T inTransaction(String action, SqlWork<T> work) {
                transactions.incrementAndGet();
                if (failing.get()) {
                    throw new ParleyException(ErrorCode.STORE_FAILURE, "Could not " + action);
                }
                return delegate.inTransaction(action, work);
            }

            @Override
            public void migrate(String module, ClassLoader loader, String location, List<String> files) {
                delegate.migrate(module, loader, location, files);
            }

            @Override
            public String dialect() {
                return delegate.dialect();
            }

            @Override
            public DataSource dataSource() {
                return delegate.dataSource();
            }
        };
    }

    private DatabaseModelAccess node() {
        DatabaseModelAccess n = new DatabaseModelAccess(new AccessStore(counting(database)), config(10),
                Clock.systemUTC(), nanos::get);
        Router router = new Router();
        router.serve("openai", "openai");
        router.serve("openai-eu", "openai");
        router.serve("ollama", "ollama");
        router.serve("local", null);
        n.routing = router;
        return n;
    }

    @BeforeEach
    void setUp() throws Exception {
        database = open();
        node1 = node();
        node2 = node();
    }

    @AfterEach
    void tearDown() throws Exception {
        database.close();
        afterDatabaseClosed();
    }

    private void age(int seconds) {
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(seconds));
    }

    @Test
    void aTenantWithoutRulesIsUnrestrictedAndAskingAgainCostsNoQuery() {
        TenantModels view = node1.forTenant("acme");
        assertThat(view.unrestricted()).isTrue();
        assertThat(view.allowsTarget("openai", "gpt-4o")).isTrue();
        int before = transactions.get();
        for (int i = 0; i < 100; i++) {
            assertThat(node1.forTenant("acme").unrestricted()).isTrue();
        }
        assertThat(transactions.get()).isEqualTo(before);
    }

    @Test
    void aDisabledModelIdCoversEveryProviderUnlessTheProvidersOwnSettingSaysOtherwise() {
        node1.putSettings(carol, "acme", true, Map.of("gpt-4o", false, "ollama/gpt-4o", true, "fast", false));

        TenantModels acme = node1.forTenant("acme");
        assertThat(acme.unrestricted()).isFalse();
        assertThat(acme.allowsTarget("openai", "gpt-4o")).isFalse();
        assertThat(acme.allowsTarget("openai-eu", "gpt-4o")).isFalse();
        assertThat(acme.allowsTarget("ollama", "gpt-4o")).isTrue();
        assertThat(acme.allowsTarget("openai", "gpt-4o-mini")).isTrue();
        assertThat(acme.allowsName("fast")).isFalse();
        assertThat(acme.allowsName("slow")).isTrue();
        assertThat(node1.forTenant("globex").unrestricted()).isTrue();
    }

    @Test
    void withTheDefaultDisabledOnlyTheModelsNamedEnabledAreAllowed() {
        node1.putSettings(carol, "acme", false, Map.of("gpt-4o-mini", true));

        TenantModels acme = node1.forTenant("acme");
        assertThat(acme.allowsTarget("openai", "gpt-4o-mini")).isTrue();
        assertThat(acme.allowsTarget("openai", "gpt-4o")).isFalse();
        assertThat(acme.allowsName("fast")).isFalse();
        assertThat(node1.settings("acme").defaultEnabled()).isFalse();

        // Back to the default: the rows are gone and the tenant is unrestricted again.
        node1.putSettings(carol, "acme", true, Map.of());
        assertThat(node1.forTenant("acme").unrestricted()).isTrue();
        assertThat(node1.settings("acme").updatedAt()).isNull();
    }

    @Test
    void aPluginRestrictedToOneTenantIsKeptFromTheOthersForEveryInstanceOfIt() {
        node1.putPluginRule(carol, "openai", true, Set.of("globex"), Set.of());

        TenantModels acme = node1.forTenant("acme");
        assertThat(acme.allowsTarget("openai", "gpt-4o")).isFalse();
        assertThat(acme.allowsTarget("openai-eu", "gpt-4o")).isFalse();
        assertThat(acme.allowsTarget("ollama", "llama3")).isTrue();
        // A provider that belongs to no plugin is not covered by plugin rules.
        assertThat(acme.allowsTarget("local", "x")).isTrue();
        assertThat(node1.forTenant("globex").allowsTarget("openai", "gpt-4o")).isTrue();
        assertThat(node1.forTenant("globex").unrestricted()).isTrue();

        node1.putPluginRule(carol, "ollama", false, Set.of(), Set.of("globex"));
        assertThat(node1.forTenant("globex").allowsTarget("ollama", "llama3")).isFalse();
        assertThat(node1.forTenant("acme").allowsTarget("ollama", "llama3")).isTrue();

        assertThat(node1.pluginRules()).containsOnlyKeys("ollama", "openai");
        assertThat(node1.pluginRules().get("openai").allowed()).containsExactly("globex");
        assertThat(node1.deletePluginRule(carol, "openai")).isTrue();
        assertThat(node1.deletePluginRule(carol, "openai")).isFalse();
        assertThat(node1.forTenant("acme").allowsTarget("openai", "gpt-4o")).isTrue();
    }

    @Test
    void replacingAPluginRuleReplacesItsTenants() {
        assertThat(node1.putPluginRule(carol, "openai", true, Set.of("globex", "acme"), Set.of())).isTrue();
        assertThat(node1.putPluginRule(carol, "openai", false, Set.of(), Set.of("acme"))).isFalse();

        PluginRule rule = node1.pluginRules().get("openai");
        assertThat(rule.restricted()).isFalse();
        assertThat(rule.allowed()).isEmpty();
        assertThat(rule.denied()).containsExactly("acme");
        assertThat(rule.updatedBy()).isEqualTo("carol");
    }

    @Test
    void aChangeAppliesAtOnceOnItsNodeAndOnTheOtherAfterTheCacheTimeOrItsEvent() {
        assertThat(node2.forTenant("acme").unrestricted()).isTrue();
        node1.putSettings(carol, "acme", true, Map.of("gpt-4o", false));

        assertThat(node1.forTenant("acme").allowsTarget("openai", "gpt-4o")).isFalse();
        assertThat(node2.forTenant("acme").allowsTarget("openai", "gpt-4o")).isTrue();
        age(11);
        assertThat(node2.forTenant("acme").allowsTarget("openai", "gpt-4o")).isFalse();

        assertThat(node2.forTenant("globex").unrestricted()).isTrue();
        node1.putPluginRule(carol, "openai", true, Set.of("acme"), Set.of());
        assertThat(node2.forTenant("globex").unrestricted()).isTrue();
        node2.handleEvent(new Event(ModelAccess.CHANGED, Map.of(ModelAccess.TENANT, "*")));
        assertThat(node2.forTenant("globex").allowsTarget("openai", "gpt-4o")).isFalse();

        node1.putSettings(carol, "acme", true, Map.of());
        node2.handleEvent(new Event(ModelAccess.CHANGED, Map.of(ModelAccess.TENANT, "acme")));
        assertThat(node2.forTenant("acme").allowsTarget("openai", "gpt-4o")).isTrue();
    }

    @Test
    void aFailingDatabaseKeepsWhatWasCachedAndRefusesWhatWasNot() {
        node1.putSettings(carol, "acme", true, Map.of("gpt-4o", false));
        assertThat(node1.forTenant("acme").allowsTarget("openai", "gpt-4o")).isFalse();
        failing.set(true);
        age(11);

        assertThat(node1.forTenant("acme").allowsTarget("openai", "gpt-4o")).isFalse();
        ParleyException e = catchThrowableOfType(() -> node1.forTenant("globex"), ParleyException.class);
        assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(e.retryAfter()).isPresent();
    }

    @Test
    void aProviderStartedLaterIsCoveredByItsPluginsRule() {
        node1.putPluginRule(carol, "mistral", true, Set.of("globex"), Set.of());
        TenantModels acme = node1.forTenant("acme");
        assertThat(acme.allowsTarget("mistral-a", "m")).isTrue();

        ((Router) node1.routing).serve("mistral-a", "mistral");
        node1.providerCame(null);
        assertThat(acme.allowsTarget("mistral-a", "m")).isFalse();
        assertThat(node1.installedPlugins()).containsKeys("mistral", "openai", "ollama")
                .doesNotContainKey("local");
        assertThat(node1.installedPlugins().get("openai")).containsExactly("openai", "openai-eu");
    }

    @Test
    void aProviderIdTwoPluginsRegisterIsCoveredByTheRuleOfThePluginTheRouterServes() {
        // A second plugin registers a provider under "openai", the id of the OpenAI plugin's provider (ADR 29).
        // Its registration waits, unused: the router still serves the OpenAI plugin's.
        Router router = (Router) node1.routing;
        node1.providerCame(null);
        assertThat(node1.pluginOf("openai")).isEqualTo("openai");

        router.serve("openai", "squatter");
        node1.providerCame(null);
        assertThat(node1.pluginOf("openai")).isEqualTo("squatter");
    }

    @Test
    void theRouterSaysWhichPluginAProviderIsWithoutACallIntoThePlugin() {
        // Provider services are bound by reference only; the router (which read each id once, guarded) names the
        // plugin, also for a provider it started serving after the service event (looked up again on a miss).
        Router router = (Router) node1.routing;
        router.serve("gemini-eu", "gemini");
        node1.providerCame(null);
        assertThat(node1.pluginOf("gemini-eu")).isEqualTo("gemini");
        assertThat(node1.pluginOf("gemini-us")).isNull();

        router.serve("gemini-us", "gemini");
        assertThat(node1.pluginOf("gemini-us")).isEqualTo("gemini");

        // A platform bundle's provider ("bundle:<symbolic name>") is no plugin's: no plugin rule covers it.
        router.serve("built-in", "bundle:dev.parley.example");
        node1.providerLeft(null);
        assertThat(node1.pluginOf("built-in")).isNull();
        assertThat(node1.installedPlugins()).doesNotContainKey("bundle:dev.parley.example");
    }

    /** The router's view of the providers it serves: provider id → its plugin (null: none). */
    static final class Router implements dev.parley.api.routing.ModelRoutingAdmin {
        private final Map<String, String> plugins = new java.util.LinkedHashMap<>();

        void serve(String providerId, String plugin) {
            plugins.put(providerId, plugin);
        }

        @Override
        public dev.parley.api.routing.RouterView view() {
            List<dev.parley.api.routing.ProviderView> providers = new java.util.ArrayList<>();
            plugins.forEach((id, plugin) -> providers.add(new dev.parley.api.routing.ProviderView(id, true, 1,
                    List.of("m"), null, plugin, List.of())));
            return new dev.parley.api.routing.RouterView(providers, List.of(), List.of(), List.of(), List.of());
        }

        @Override
        public dev.parley.api.routing.AliasView putAlias(String name, String definition) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void deleteAlias(String name) {
            throw new UnsupportedOperationException();
        }

        @Override
        public dev.parley.api.routing.Claim putClaim(String modelId, String providerId) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void deleteClaim(String modelId) {
            throw new UnsupportedOperationException();
        }
    }
}
