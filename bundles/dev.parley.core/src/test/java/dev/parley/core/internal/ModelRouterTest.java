package dev.parley.core.internal;

import static dev.parley.core.internal.ScriptedProvider.model;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.routing.AliasView.Target;
import dev.parley.api.routing.RoutingStrategy;

/** Resolution: aliases, claims (persisted, never by bind order), explicit targets, strategies, the admin changes. */
class ModelRouterTest {
    private final InMemoryRouterStateStore state = new InMemoryRouterStateStore();
    private final List<ModelRouter> routers = new ArrayList<>();
    private final List<ScriptedProvider> providers = new ArrayList<>();

    @AfterEach
    void tearDown() {
        routers.forEach(ModelRouter::deactivate);
        providers.forEach(ScriptedProvider::close);
    }

    private ModelRouter router(Map<String, ?> config) {
        ModelRouter r = new ModelRouter(state, TestConfigs.routerSettings(config), new ManualTimers(),
                new MutableClock(), new SplittableRandom(7));
        routers.add(r);
        return r;
    }

    private ModelRouter router() {
        return router(Map.of());
    }

    private ScriptedProvider provider(String id, String... models) {
        ModelDescriptor[] ms = new ModelDescriptor[models.length];
        for (int i = 0; i < models.length; i++) {
            ms[i] = model(models[i], id, 8000, 1000);
        }
        ScriptedProvider p = new ScriptedProvider(id, ms);
        providers.add(p);
        return p;
    }

    private static String answerer(ModelRouter r, String requested) {
        ModelRouter.Candidate c = r.plan(requested).first();
        return c.providerId() + "/" + c.model().id();
    }

    @Test
    void aSecondProviderServingAClaimedModelDoesNotTakeItOver() {
        ModelRouter r = router();
        ScriptedProvider a = provider("alpha", "shared", "a-only");
        ScriptedProvider b = provider("beta", "shared");
        r.bindProvider(a);
        r.bindProvider(b);

        assertThat(answerer(r, "shared")).isEqualTo("alpha/shared");
        assertThat(r.plan("shared").first().provider()).isSameAs(a);
        // The other one stays reachable by name, and is listed so.
        assertThat(answerer(r, "beta/shared")).isEqualTo("beta/shared");
        assertThat(r.models()).extracting(ModelDescriptor::id).containsExactly("a-only", "beta/shared", "shared");
        await().until(() -> "alpha".equals(state.claims.get("shared")));
    }

    @Test
    void bindOrderAfterARestartDoesNotChangeWhoAnswers() {
        ModelRouter first = router();
        first.bindProvider(provider("alpha", "shared"));
        first.bindProvider(provider("beta", "shared"));
        await().until(() -> "alpha".equals(state.claims.get("shared")));
        first.deactivate();

        // Restart: the same database, the providers bound the other way round.
        ModelRouter second = router();
        ScriptedProvider b = provider("beta", "shared");
        second.bindProvider(b);
        assertThatThrownBy(() -> second.plan("shared")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND));
        second.bindProvider(provider("alpha", "shared"));

        assertThat(answerer(second, "shared")).isEqualTo("alpha/shared");
        assertThat(state.claims).containsEntry("shared", "alpha");
    }

    @Test
    void aNewerRegistrationOfTheSameProviderIdTakesOverAndHandsBackWhenItLeaves() {
        ModelRouter r = router();
        ScriptedProvider v1 = provider("echo", "echo-1");
        ScriptedProvider v2 = new ScriptedProvider.NextVersion("echo", model("echo-1", "echo", 8000, 1000));
        providers.add(v2);
        r.bindProvider(v1);
        assertThat(r.plan("echo-1").first().provider()).isSameAs(v1);

        r.bindProvider(v2);
        assertThat(r.plan("echo-1").first().provider()).isSameAs(v2);
        assertThat(r.models()).hasSize(1);
        assertThat(r.view().providers()).singleElement().satisfies(p -> assertThat(p.registrations()).isEqualTo(2));

        r.unbindProvider(v2);
        assertThat(r.plan("echo-1").first().provider()).isSameAs(v1);
    }

    @Test
    void aSecondInstanceOfOnePluginUnderTheSameIdIsRefusedAndTakesOverOnlyWhenTheFirstLeaves() {
        ModelRouter r = router();
        ScriptedProvider first = provider("openai", "gpt-a");
        ScriptedProvider second = provider("openai", "gpt-b");
        r.bindProvider(first);
        r.bindProvider(second);

        assertThat(r.models()).extracting(ModelDescriptor::id).containsExactly("gpt-a");
        assertThat(r.plan("gpt-a").first().provider()).isSameAs(first);
        assertThat(r.view().providers()).singleElement().satisfies(p -> assertThat(p.registrations()).isEqualTo(1));

        r.unbindProvider(first);
        assertThat(r.models()).extracting(ModelDescriptor::id).containsExactly("gpt-b");
        assertThat(r.plan("openai/gpt-b").first().provider()).isSameAs(second);

        r.unbindProvider(second);
        assertThat(r.providerCount()).isZero();
    }

    @Test
    void aModelWhoseClaimantIsGoneNamesTheModelTheMissingProviderAndWhatServesItNow() {
        ModelRouter r = router();
        ScriptedProvider a = provider("alpha", "shared");
        r.bindProvider(a);
        r.bindProvider(provider("beta", "shared"));
        r.unbindProvider(a);

        assertThatThrownBy(() -> r.plan("shared")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND))
                .hasMessageContaining("model shared was served by provider alpha, which is not running")
                .hasMessageContaining("served now by beta")
                .hasMessageContaining("'beta/shared'")
                .hasMessageContaining("PUT /api/v1/admin/models/claims/shared");
    }

    @Test
    void withNoProviderLeftTheMessageSaysWhichModelIsGoneInsteadOfTheOfflineHint() {
        ModelRouter r = router();
        assertThatThrownBy(() -> r.plan("m")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NO_PROVIDER))
                .hasMessage(ModelRouter.NO_PROVIDER_MESSAGE);

        ScriptedProvider echo = provider("echo", "echo-1");
        r.bindProvider(echo);
        r.unbindProvider(echo);

        assertThatThrownBy(() -> r.plan("echo-1")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NO_PROVIDER))
                .hasMessageContaining("model echo-1 is gone: provider echo served it and is not running")
                .hasMessageContaining("no model provider is running now")
                .hasMessageContaining("/api/v1/admin/plugins")
                .satisfies(e -> assertThat(e.getMessage()).isNotEqualTo(ModelRouter.NO_PROVIDER_MESSAGE));
    }

    @Test
    void anAliasWinsOverAModelIdAndTheDefaultAliasAnswersWhenNothingIsNamed() {
        ModelRouter r = router(Map.of("aliases", new String[] {
                "default=priority:beta/b-1,alpha/a-1", "a-1=beta/b-1" }));
        r.bindProvider(provider("alpha", "a-1"));
        r.bindProvider(provider("beta", "b-1"));

        assertThat(answerer(r, "a-1")).isEqualTo("beta/b-1");
        assertThat(r.plan(null).targets()).extracting(Target::toString).containsExactly("beta/b-1", "alpha/a-1");
        assertThat(r.plan(" ", "", "default").alias()).isEqualTo("default");
        assertThat(r.models()).filteredOn(m -> m.providerId().equals(ModelRouter.ALIAS_PROVIDER))
                .extracting(ModelDescriptor::id).containsExactlyInAnyOrder("a-1", "default");
    }

    @Test
    void anAliasSkipsTargetsWhoseProviderIsNotRunningAndSaysSoWhenNoneIs() {
        ModelRouter r = router(Map.of("aliases", new String[] { "fast=gone/x,alpha/a-1" }));
        ScriptedProvider a = provider("alpha", "a-1");
        r.bindProvider(a);
        assertThat(r.plan("fast").targets()).extracting(Target::toString).containsExactly("alpha/a-1");

        r.bindProvider(provider("beta", "b-1"));
        r.unbindProvider(a);
        assertThatThrownBy(() -> r.plan("fast")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND))
                .hasMessageContaining("alias fast").hasMessageContaining("gone/x").hasMessageContaining("alpha/a-1");
    }

    @Test
    void weightsAreRespectedWithinTolerance() {
        ModelRouter r = router(Map.of("aliases", new String[] { "smart=weighted:alpha/a-1@3,beta/b-1@1" }));
        r.bindProvider(provider("alpha", "a-1"));
        r.bindProvider(provider("beta", "b-1"));
        int n = 4000;
        int alphaFirst = 0;
        for (int i = 0; i < n; i++) {
            ModelRouter.Plan p = r.plan("smart");
            assertThat(p.targets()).hasSize(2);
            if (p.targets().get(0).providerId().equals("alpha")) {
                alphaFirst++;
            }
        }
        // Expected 0.75; one standard deviation over 4000 draws is 0.0068: the band is more than 4 of them wide.
        assertThat(alphaFirst / (double) n).isBetween(0.72, 0.78);
    }

    @Test
    void leastLatencyTriesUnmeasuredTargetsFirstThenTheFastest() {
        ModelRouter r = router(Map.of("aliases", new String[] { "quick=least-latency:alpha/a-1,beta/b-1,gamma/c-1" }));
        r.bindProvider(provider("alpha", "a-1"));
        r.bindProvider(provider("beta", "b-1"));
        r.bindProvider(provider("gamma", "c-1"));
        List<Target> listed = r.aliases().get("quick").targets();
        r.plan("quick"); // creates the targets' states
        stateOf(r, "alpha/a-1").ttft(Duration.ofMillis(900).toNanos());
        stateOf(r, "beta/b-1").ttft(Duration.ofMillis(120).toNanos());

        assertThat(r.order(RoutingStrategy.LEAST_LATENCY, listed)).extracting(Target::toString)
                .containsExactly("gamma/c-1", "beta/b-1", "alpha/a-1");

        stateOf(r, "gamma/c-1").ttft(Duration.ofMillis(400).toNanos());
        // The average moves towards new samples: alpha got fast.
        for (int i = 0; i < 20; i++) {
            stateOf(r, "alpha/a-1").ttft(Duration.ofMillis(50).toNanos());
        }
        assertThat(r.plan("quick").targets()).extracting(Target::toString)
                .containsExactly("alpha/a-1", "beta/b-1", "gamma/c-1");
    }

    @Test
    void costAwarePutsTheCheapestFirstAndUnpricedLast() {
        ModelRouter r = router(Map.of("aliases", new String[] { "cheap=cost:alpha/big,beta/small,gamma/free-ish" }));
        r.bindProvider(provider("alpha", "big"));
        r.bindProvider(provider("beta", "small"));
        r.bindProvider(provider("gamma", "free-ish"));
        // A target is priced as provider/model or by its bare model id.
        r.prices(ModelPrices.parse(new String[] { "alpha/big=10:30", "small=0.15:0.60" }));

        assertThat(r.plan("cheap").targets()).extracting(Target::toString)
                .containsExactly("beta/small", "alpha/big", "gamma/free-ish");
        assertThat(r.view().prices()).extracting(p -> p.model()).containsExactly("alpha/big", "small");
    }

    @Test
    void anAdminReassignsAClaimAndItSurvivesARestart() {
        ModelRouter r = router();
        r.bindProvider(provider("alpha", "shared"));
        r.bindProvider(provider("beta", "shared"));
        assertThat(answerer(r, "shared")).isEqualTo("alpha/shared");

        r.putClaim("shared", "beta");
        assertThat(answerer(r, "shared")).isEqualTo("beta/shared");
        r.deactivate();

        ModelRouter restarted = router();
        restarted.bindProvider(provider("alpha", "shared"));
        restarted.bindProvider(provider("beta", "shared"));
        assertThat(answerer(restarted, "shared")).isEqualTo("beta/shared");

        assertThatThrownBy(() -> restarted.putClaim("shared", "nobody")).isInstanceOfSatisfying(
                ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("unknown provider 'nobody'").hasMessageContaining("alpha, beta");
        assertThatThrownBy(() -> restarted.putClaim("other", "beta")).isInstanceOfSatisfying(
                ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("does not serve model other");

        assertThatThrownBy(() -> restarted.putClaim("x".repeat(301), "beta")).isInstanceOfSatisfying(
                ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("up to 300 characters");

        restarted.deleteClaim("shared");
        assertThat(state.claims).doesNotContainKey("shared");
        assertThatThrownBy(() -> restarted.deleteClaim("shared")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    }

    @Test
    void adminAliasesOverrideConfigurationSurviveARestartAndRefuseBadInput() {
        ModelRouter r = router(Map.of("aliases", new String[] { "fast=alpha/a-1" }));
        r.bindProvider(provider("alpha", "a-1"));
        r.bindProvider(provider("beta", "b-1"));

        var alias = r.putAlias("fast", "weighted: beta/b-1@2 , alpha/a-1");
        assertThat(alias.definition()).isEqualTo("weighted:beta/b-1@2,alpha/a-1");
        assertThat(r.aliases().get("fast").source()).isEqualTo("admin");
        assertThat(state.aliases).containsEntry("fast", "weighted:beta/b-1@2,alpha/a-1");

        ModelRouter restarted = router(Map.of("aliases", new String[] { "fast=alpha/a-1" }));
        assertThat(restarted.aliases().get("fast").strategy()).isEqualTo(RoutingStrategy.WEIGHTED);

        assertThatThrownBy(() -> r.putAlias("x", "priority:nobody/m")).isInstanceOfSatisfying(
                ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("unknown provider 'nobody'");
        assertThatThrownBy(() -> r.putAlias("x", "alpha/nope")).isInstanceOfSatisfying(
                ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("provider alpha does not serve model nope; it serves: a-1");
        assertThatThrownBy(() -> r.putAlias("x", "fastest:alpha/a-1")).isInstanceOfSatisfying(
                ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("unknown strategy 'fastest'");
        assertThatThrownBy(() -> r.putAlias("x", "alpha-a-1")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST)).hasMessageContaining("provider/model");
        assertThatThrownBy(() -> r.putAlias("x", "alpha/a-1@0")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST)).hasMessageContaining("weight");
        assertThatThrownBy(() -> r.putAlias("bad name", "alpha/a-1")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));

        r.deleteAlias("fast");
        assertThat(r.aliases().get("fast").source()).isEqualTo("configuration");
        assertThatThrownBy(() -> r.deleteAlias("fast")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT)).hasMessageContaining("PARLEY_MODEL_ALIASES");
        assertThatThrownBy(() -> r.deleteAlias("nope")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    }

    @Test
    void anotherNodesChangesApplyAtItsNextRefresh() {
        ModelRouter node1 = router();
        ModelRouter node2 = router();
        for (ModelRouter r : List.of(node1, node2)) {
            r.bindProvider(provider("alpha", "shared"));
            r.bindProvider(provider("beta", "shared"));
        }
        await().until(() -> "alpha".equals(state.claims.get("shared")));
        assertThat(answerer(node2, "shared")).isEqualTo("alpha/shared");

        node1.putClaim("shared", "beta");
        node1.putAlias("fast", "beta/shared");
        assertThat(answerer(node2, "shared")).isEqualTo("alpha/shared");
        node2.load();
        assertThat(answerer(node2, "shared")).isEqualTo("beta/shared");
        assertThat(node2.aliases()).containsKey("fast");

        // A claim removed on one node is not written back by another that had it.
        node1.deleteClaim("shared");
        node1.deleteAlias("fast");
        node2.load();
        assertThat(state.claims).doesNotContainKey("shared");
        assertThat(node2.aliases()).doesNotContainKey("fast");
        assertThat(answerer(node2, "shared")).isEqualTo("alpha/shared");
    }

    @Test
    void aClaimTheDatabaseCouldNotTakeIsWrittenAtTheNextRefresh() {
        var failing = new InMemoryRouterStateStore() {
            volatile boolean down = true;

            @Override
            public String claimIfAbsent(String modelId, String providerId) {
                if (down) {
                    throw new ParleyException(ErrorCode.STORE_FAILURE, "database down");
                }
                return super.claimIfAbsent(modelId, providerId);
            }
        };
        ModelRouter r = new ModelRouter(failing, TestConfigs.routerSettings(Map.of()), new ManualTimers(),
                new MutableClock(), null);
        routers.add(r);
        r.bindProvider(provider("alpha", "m"));
        assertThat(answerer(r, "m")).isEqualTo("alpha/m");

        failing.down = false;
        r.load();
        await().until(() -> "alpha".equals(failing.claims.get("m")));
    }

    @Test
    void aConfigurationChangeAppliesToTheNextRequestWithoutARestart() {
        ModelRouter r = router(Map.of("aliases", new String[] { "fast=alpha/a-1" }));
        r.bindProvider(provider("alpha", "a-1"));
        r.bindProvider(provider("beta", "b-1"));
        ModelRouter.Plan before = r.plan("fast");

        r.modified(TestConfigs.routerConfig(Map.of("aliases", new String[] { "fast=cost:beta/b-1,alpha/a-1",
                "smart=weighted:alpha/a-1@2,beta/b-1" })));

        assertThat(r.plan("fast").targets()).extracting(Target::toString).containsExactly("beta/b-1", "alpha/a-1");
        assertThat(r.aliases()).containsKeys("fast", "smart");
        // A plan made before the change keeps its targets.
        assertThat(before.targets()).extracting(Target::toString).containsExactly("alpha/a-1");
    }

    @Test
    void aBadConfiguredAliasIsLeftOutAndTheRestApplies() {
        RouterSettings s = TestConfigs.routerSettings(Map.of("aliases", new String[] { "ok=alpha/a-1", "broken=",
                "weird=sometimes:alpha/a-1" }, "fallbackOn", new String[] { "rate-limited", "invalid-request",
                        "nonsense" }));
        assertThat(s.aliases()).containsOnlyKeys("ok");
        assertThat(s.fallbackOn()).containsExactly(ErrorCode.RATE_LIMITED);
        assertThat(s.problems()).hasSize(4);
    }

    private static TargetState stateOf(ModelRouter r, String key) {
        return r.targetStates().stream().filter(t -> t.key.equals(key)).findFirst().orElseThrow();
    }

    // --- a provider id belongs to one plugin (ADR 29) ---

    @Test
    void aProviderIdAnotherPluginRegisteredDoesNotTakeItsTraffic() {
        ModelRouter r = router();
        ScriptedProvider victim = provider("echo", "echo-1");
        ScriptedProvider hijacker = new ScriptedProvider.NextVersion("echo", model("echo-1", "echo", 8000, 1000));
        providers.add(hijacker);
        r.bindProvider(victim, null, "example.echo");
        r.bindProvider(hijacker, null, "evil.plugin");

        assertThat(r.plan("echo-1").first().provider()).isSameAs(victim);
        assertThat(r.plan("echo/echo-1").first().provider()).isSameAs(victim);
        assertThat(r.view().providers()).singleElement().satisfies(p -> {
            assertThat(p.registrations()).isEqualTo(1);
            assertThat(p.plugin()).isEqualTo("example.echo");
            assertThat(p.refusedPlugins()).containsExactly("evil.plugin");
        });
        await().until(() -> "example.echo".equals(state.providerPlugins.get("echo")));

        // The victim stopped (disabled, still installed): its id is still its own.
        r.unbindProvider(victim);
        assertThatThrownBy(() -> r.plan("echo-1")).isInstanceOf(ParleyException.class);
        // Uninstalled: the id is free, the waiting registration serves.
        r.bindings().release("example.echo");
        assertThat(r.plan("echo-1").first().provider()).isSameAs(hijacker);
        await().until(() -> "evil.plugin".equals(state.providerPlugins.get("echo")));
    }

    @Test
    void anUpgradeOfTheSamePluginTakesOverAsBefore() {
        ModelRouter r = router();
        ScriptedProvider v1 = provider("echo", "echo-1");
        ScriptedProvider v2 = new ScriptedProvider.NextVersion("echo", model("echo-1", "echo", 8000, 1000));
        providers.add(v2);
        r.bindProvider(v1, null, "example.echo");
        r.bindProvider(v2, null, "example.echo");

        assertThat(r.plan("echo-1").first().provider()).isSameAs(v2);
        r.unbindProvider(v1);
        assertThat(r.plan("echo-1").first().provider()).isSameAs(v2);
    }

    @Test
    void aRestartThatStartsTheOtherPluginFirstChangesNothing() {
        ModelRouter first = router();
        first.bindProvider(provider("echo", "echo-1"), null, "example.echo");
        await().until(() -> "example.echo".equals(state.providerPlugins.get("echo")));
        first.deactivate();

        // Restart: the same database; the other plugin's bundle happens to start first.
        ModelRouter second = router();
        ScriptedProvider hijacker = new ScriptedProvider.NextVersion("echo", model("echo-1", "echo", 8000, 1000));
        providers.add(hijacker);
        second.bindProvider(hijacker, null, "aaa.first.in.line");
        assertThatThrownBy(() -> second.plan("echo-1")).isInstanceOf(ParleyException.class);
        ScriptedProvider victim = provider("echo", "echo-1");
        second.bindProvider(victim, null, "example.echo");

        assertThat(second.plan("echo-1").first().provider()).isSameAs(victim);
        assertThat(state.providerPlugins).containsEntry("echo", "example.echo");
    }

    @Test
    void anIdAnotherNodeBoundFirstIsHandedOverWhenTheDatabaseSaysSo() {
        ModelRouter r = router();
        // Another node bound it after this router read the database, before this node wrote its own binding.
        state.providerPlugins.put("echo", "example.echo");
        ScriptedProvider late = provider("echo", "echo-1");
        r.bindProvider(late, null, "evil.plugin");

        await().untilAsserted(() -> assertThat(r.view().providers()).noneMatch(p -> p.up()));
        assertThat(state.providerPlugins).containsEntry("echo", "example.echo");
        ScriptedProvider owner = new ScriptedProvider.NextVersion("echo", model("echo-1", "echo", 8000, 1000));
        providers.add(owner);
        r.bindProvider(owner, null, "example.echo");
        assertThat(r.plan("echo-1").first().provider()).isSameAs(owner);
    }

    @Test
    void aPluginCannotTakeTheIdOfAProviderThePlatformRegisters() {
        ModelRouter r = router();
        ScriptedProvider platform = provider("internal", "m");
        ScriptedProvider plugin = new ScriptedProvider.NextVersion("internal", model("m", "internal", 8000, 1000));
        providers.add(plugin);
        r.bindProvider(platform, null, "bundle:dev.parley.something");
        r.bindProvider(plugin, null, "evil.plugin");

        assertThat(r.plan("m").first().provider()).isSameAs(platform);
    }
}
