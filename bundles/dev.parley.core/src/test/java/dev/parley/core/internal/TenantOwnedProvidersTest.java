package dev.parley.core.internal;

import static dev.parley.core.internal.ScriptedProvider.model;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Principal;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.routing.AliasView.Target;
import dev.parley.api.routing.ProviderView;
import dev.parley.api.usage.UsageRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A tenant's own provider instance (a provider registered with {@code parley.tenant}): it never claims a bare model
 * id, is listed and reached as {@code provider/model} by its own tenant's callers only, is never an alias target, and
 * the rules hold with no model access service at all. Its use is recorded under its own provider id.
 */
class TenantOwnedProvidersTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final InMemoryRouterStateStore state = new InMemoryRouterStateStore();
    private final InMemoryConversationStore store = new InMemoryConversationStore();
    private final UsageRecorderTest.ListStore usage = new UsageRecorderTest.ListStore();
    private final List<ScriptedProvider> providers = new ArrayList<>();
    private final Principal acme = TenantModelsInCoreTest.member("acme");
    private final Principal globex = TenantModelsInCoreTest.member("globex");
    private ModelRouter router;
    private CoreChatService chat;
    private ScriptedProvider work;
    private ScriptedProvider operator;

    @BeforeEach
    void setUp() {
        router = new ModelRouter(state, TestConfigs.routerSettings(Map.of("aliases", new String[] {
                "mixed=priority:acme~work/shared-x,op/op-model", "theirs=acme~work/shared-x" })),
                new ManualTimers(), new MutableClock(), null);
        work = provider("acme~work", "shared-x", "own-y");
        operator = provider("op", "op-model");
        // Bound the way DS binds them: with their service properties.
        router.providerAdded(work, Map.of(ChatModelProvider.TENANT_PROPERTY, "acme"));
        router.providerAdded(operator, Map.of());
        chat = new CoreChatService(store, router, TestConfigs.config("", 32000, 20, 0,
                new String[] { "acme~work/shared-x=2:10" }, false));
        chat.setUsageStore(usage);
    }

    @AfterEach
    void tearDown() {
        chat.deactivate();
        router.deactivate();
        providers.forEach(ScriptedProvider::close);
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

    private static ChatRequest request(String model) {
        return new ChatRequest(model, List.of(ChatMessage.user("hi")), ChatOptions.DEFAULTS, List.of());
    }

    private static List<String> ids(List<ModelDescriptor> models) {
        return models.stream().map(ModelDescriptor::id).toList();
    }

    private ParleyException refused(Principal caller, String model) {
        return catchThrowableOfType(() -> chat.as(caller).completeWhole(request(model),
                new CoreChatServiceTest.RecordingHandler()), ParleyException.class);
    }

    @Test
    void aTenantsInstanceClaimsNoBareModelIdInMemoryOrInTheDatabase() {
        // The operator's provider bound after it claims its model: claims are written, just none for the instance.
        await().atMost(WAIT).until(() -> "op".equals(state.claims.get("op-model")));
        router.plan("op-model");
        assertThatThrownBy(() -> router.plan("shared-x")).isInstanceOf(ParleyException.class);

        assertThat(state.claims).containsOnlyKeys("op-model");
        assertThat(router.view().claims()).extracting(c -> c.modelId()).containsExactly("op-model");

        // An operator's provider serving the same id later claims it as if the instance were not there.
        router.bindProvider(provider("late", "shared-x"));
        assertThat(router.plan("shared-x").first().providerId()).isEqualTo("late");
        await().atMost(WAIT).until(() -> "late".equals(state.claims.get("shared-x")));
    }

    @Test
    void itsModelsAreListedOnlyAsProviderSlashModelAndOnlyToItsTenant() {
        assertThat(ids(router.models())).contains("acme~work/shared-x", "acme~work/own-y", "op-model")
                .doesNotContain("shared-x", "own-y");
        assertThat(ids(router.models("acme"))).containsExactly("acme~work/own-y", "acme~work/shared-x", "mixed",
                "op-model");
        assertThat(ids(router.models("globex"))).containsExactly("mixed", "op-model");
        // An alias whose only target is a tenant's instance has no target up, so it is not listed at all.
        assertThat(ids(router.models())).doesNotContain("theirs");

        assertThat(router.owner("acme~work")).isEqualTo("acme");
        assertThat(router.owner("op")).isNull();
        assertThat(router.owner("nobody")).isNull();
        assertThat(router.view().providers()).extracting(ProviderView::id, ProviderView::owner)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("acme~work", "acme"),
                        org.assertj.core.groups.Tuple.tuple("op", null));
    }

    @Test
    void aBareModelIdNeverResolvesToItEvenWhenNothingElseServesIt() {
        for (String tenant : new String[] { "acme", "globex", null }) {
            assertThatThrownBy(() -> router.planFor(tenant, "shared-x")).isInstanceOfSatisfying(
                    ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND));
        }
        // Its own tenant names it with its provider id; nobody else can, not even the platform.
        assertThat(router.planFor("acme", "acme~work/shared-x").first().provider()).isSameAs(work);
        ParleyException other = catchThrowableOfType(() -> router.planFor("globex", "acme~work/shared-x"),
                ParleyException.class);
        ParleyException unknown = catchThrowableOfType(() -> router.planFor("globex", "acme~work/no-such"),
                ParleyException.class);
        assertThat(other.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        // Exactly the answer of a model that does not exist: no hint of the instance or its models.
        assertThat(other.getMessage().replace("shared-x", "X")).isEqualTo(unknown.getMessage().replace("no-such", "X"))
                .doesNotContain("own-y");
        assertThat(catchThrowableOfType(() -> router.plan("acme~work/shared-x"), ParleyException.class).code())
                .isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        // Nothing named and no default alias: the router's first model, never another tenant's instance.
        assertThat(router.planFor("globex", null).first().providerId()).isEqualTo("op");
    }

    @Test
    void itIsLeftOutOfAliasPlansAndAnAdminAliasNamingItIsRefused() {
        assertThat(router.planFor("acme", "mixed").targets()).extracting(Target::toString)
                .containsExactly("op/op-model");
        assertThatThrownBy(() -> router.planFor("acme", "theirs")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND));

        assertThatThrownBy(() -> router.putAlias("mine", "op/op-model,acme~work/shared-x"))
                .isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("'acme~work'").hasMessageContaining("platform-wide");
        assertThat(state.aliases).doesNotContainKey("mine");
        assertThat(router.aliases()).doesNotContainKey("mine");
        // Nor can an admin move a bare model id to it.
        assertThatThrownBy(() -> router.putClaim("shared-x", "acme~work")).isInstanceOfSatisfying(
                ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("acme~work");
        assertThat(state.claims).doesNotContainKey("shared-x");
    }

    @Test
    void withoutAnyModelAccessServiceOnlyItsTenantSeesAndReachesIt() {
        assertThat(chat.modelAccess).isNull();

        assertThat(ids(chat.as(acme).models())).contains("acme~work/shared-x", "op-model");
        assertThat(ids(chat.as(globex).models())).containsExactly("mixed", "op-model");
        assertThat(ids(chat.as(TestConfigs.OWNER).models())).doesNotContain("acme~work/shared-x");

        ParleyException theirs = refused(globex, "acme~work/shared-x");
        ParleyException unknown = refused(globex, "acme~work/nothing");
        assertThat(theirs.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(theirs.getMessage().replace("shared-x", "X")).isEqualTo(unknown.getMessage()
                .replace("nothing", "X"));
        assertThat(theirs.getMessage()).doesNotContain("own-y");
        assertThat(refused(globex, "shared-x").code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(refused(acme, "shared-x").code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        ParleyException count = catchThrowableOfType(() -> chat.as(globex).estimateInputTokens(
                request("acme~work/shared-x")), ParleyException.class);
        assertThat(count.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(work.requests).isEmpty();

        chat.as(acme).completeWhole(request("acme~work/shared-x"), new CoreChatServiceTest.RecordingHandler());
        await().atMost(WAIT).until(() -> work.requests.size() == 1);
        assertThat(work.requests.get(0).model()).isEqualTo("shared-x");
    }

    @Test
    void anUnrestrictedViewDoesNotOpenItToOtherTenantsAndARestrictedOneStillAppliesToItsOwn() {
        TenantModelsInCoreTest.FakeAccess access = new TenantModelsInCoreTest.FakeAccess();
        chat.modelAccess = access;

        // Both unrestricted.
        assertThat(ids(chat.as(globex).models())).doesNotContain("acme~work/shared-x");
        assertThat(refused(globex, "acme~work/shared-x").code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);

        // globex restricted (any setting): still never sees acme's; acme's admin disabled one of its own models.
        access.settings.put("globex", Map.of("op-model", true));
        access.settings.put("acme", Map.of("acme~work/own-y", false));
        assertThat(ids(chat.as(globex).models())).containsExactly("mixed", "op-model");
        assertThat(refused(globex, "acme~work/shared-x").code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(ids(chat.as(acme).models())).contains("acme~work/shared-x").doesNotContain("acme~work/own-y");
        assertThat(refused(acme, "acme~work/own-y").code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        // The alias plan of a restricted tenant leaves the instance out too.
        assertThat(TenantModelFilter.plan(router, access.forTenant("acme"), acme, "mixed").targets())
                .extracting(Target::toString).containsExactly("op/op-model");
        assertThat(work.requests).isEmpty();
    }

    @Test
    void itsUseIsRecordedAndPricedUnderItsOwnProviderId() {
        chat.as(acme).completeWhole(request("acme~work/shared-x"), new CoreChatServiceTest.RecordingHandler());

        await().atMost(WAIT).until(() -> {
            chat.usageRecorder().flush();
            return !usage.batches.isEmpty();
        });
        UsageRecord r = usage.batches.get(0).get(0);
        assertThat(r.tenantId()).isEqualTo("acme");
        assertThat(r.requestedModel()).isEqualTo("acme~work/shared-x");
        assertThat(r.providerId()).isEqualTo("acme~work");
        assertThat(r.model()).isEqualTo("shared-x");
        assertThat(r.attempts()).allSatisfy(a -> assertThat(a.providerId()).isEqualTo("acme~work"));
        // ScriptedProvider reports 11 prompt and 3 completion tokens: at 2 and 10 USD per million.
        assertThat(r.costUsd()).isEqualByComparingTo("0.000052");
    }

    @Test
    void aRegistrationOfTheSameIdWithAnotherOwnerIsNotUsedWhileTheFirstRuns() {
        ScriptedProvider impostor = new ScriptedProvider.NextVersion("acme~work", model("shared-x", "acme~work",
                8000, 1000));
        providers.add(impostor);
        router.providerAdded(impostor, Map.of(ChatModelProvider.TENANT_PROPERTY, "globex"));

        assertThat(router.owner("acme~work")).isEqualTo("acme");
        assertThat(router.planFor("acme", "acme~work/shared-x").first().provider()).isSameAs(work);
        assertThat(catchThrowableOfType(() -> router.planFor("globex", "acme~work/shared-x"),
                ParleyException.class).code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);

        router.unbindProvider(work);
        assertThat(router.owner("acme~work")).isEqualTo("globex");
        assertThat(router.planFor("globex", "acme~work/shared-x").first().provider()).isSameAs(impostor);
        assertThat(catchThrowableOfType(() -> router.planFor("acme", "acme~work/shared-x"),
                ParleyException.class).code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
    }

    @Test
    void anOwnerChangedInItsServicePropertiesAppliesAtOnce() {
        router.updatedProvider(work, Map.of(ChatModelProvider.TENANT_PROPERTY, "globex"));
        assertThat(router.owner("acme~work")).isEqualTo("globex");
        assertThat(router.planFor("globex", "acme~work/shared-x").first().provider()).isSameAs(work);

        router.updatedProvider(work, Map.of());
        assertThat(router.owner("acme~work")).isNull();
        assertThat(router.hasTenantProviders()).isFalse();
        // Now the operator's: it claims its models like any other.
        assertThat(router.plan("shared-x").first().provider()).isSameAs(work);
    }

    @Test
    void ownerIsReadFromTheServicePropertyOnly() {
        assertThat(ModelRouter.ownerOf(Map.of(ChatModelProvider.TENANT_PROPERTY, " acme "))).isEqualTo("acme");
        assertThat(ModelRouter.ownerOf(Map.of(ChatModelProvider.TENANT_PROPERTY, new String[] { "acme" })))
                .isEqualTo("acme");
        assertThat(ModelRouter.ownerOf(Map.of(ChatModelProvider.TENANT_PROPERTY, " "))).isNull();
        assertThat(ModelRouter.ownerOf(Map.of("other", "acme"))).isNull();
        assertThat(ModelRouter.ownerOf(null)).isNull();
    }

    @Test
    void embeddingsOfATenantsInstanceAreListedAndUsedOnlyByItsTenantAndNeverByBareId() throws Exception {
        CoreEmbeddingService embeddings = new CoreEmbeddingService(100, 100);
        CoreEmbeddingServiceTest.FakeEmbedder own = new CoreEmbeddingServiceTest.FakeEmbedder("acme~work",
                new EmbeddingModel("e-own", "acme~work", 2, 100, 10, false),
                new EmbeddingModel("e-shared", "acme~work", 2, 100, 10, false));
        CoreEmbeddingServiceTest.FakeEmbedder platform = new CoreEmbeddingServiceTest.FakeEmbedder("zeta",
                new EmbeddingModel("e-shared", "zeta", 2, 100, 10, false));
        embeddings.providerAdded(own, Map.of(ChatModelProvider.TENANT_PROPERTY, "acme"));
        embeddings.providerAdded(platform, Map.of());

        assertThat(embeddings.models()).extracting(EmbeddingModel::id).containsExactly("e-shared");
        assertThat(embeddings.models(acme)).extracting(EmbeddingModel::id, EmbeddingModel::providerId)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("e-shared", "zeta"),
                        org.assertj.core.groups.Tuple.tuple("acme~work/e-own", "acme~work"),
                        org.assertj.core.groups.Tuple.tuple("acme~work/e-shared", "acme~work"));
        assertThat(embeddings.models(globex)).extracting(EmbeddingModel::id).containsExactly("e-shared");

        // A bare id: the operator's (acme~work sorts first, yet never takes it), or unknown when only an instance has it.
        embed(embeddings, acme, "e-shared");
        assertThat(platform.calls).hasSize(1);
        assertThat(embedFailure(embeddings, acme, "e-own").code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        // By provider id: its tenant only; for anyone else exactly as unknown.
        embed(embeddings, acme, "acme~work/e-own");
        assertThat(own.calls).extracting(EmbeddingRequest::model).containsExactly("e-own");
        ParleyException theirs = embedFailure(embeddings, globex, "acme~work/e-own");
        ParleyException unknown = embedFailure(embeddings, globex, "acme~work/e-none");
        assertThat(theirs.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(theirs.getMessage().replace("e-own", "X")).isEqualTo(unknown.getMessage().replace("e-none", "X"))
                .doesNotContain("acme~work/e-shared");
        // The platform's own calls (no caller) never reach a tenant's instance.
        CompletionException platformCall = catchThrowableOfType(() -> embeddings.embed(new EmbeddingRequest(
                "acme~work/e-own", List.of("x"), null)).toCompletableFuture().join(), CompletionException.class);
        assertThat(((ParleyException) platformCall.getCause()).code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(own.calls).hasSize(1);

        // With a model access service whose view is unrestricted, the same.
        embeddings.modelAccess = new TenantModelsInCoreTest.FakeAccess();
        assertThat(embeddings.models(globex)).extracting(EmbeddingModel::id).containsExactly("e-shared");
        assertThat(embedFailure(embeddings, globex, "acme~work/e-own").code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(own.calls).hasSize(1);
    }

    private static void embed(CoreEmbeddingService s, Principal caller, String model) throws Exception {
        assertThat(s.embed(caller, new EmbeddingRequest(model, List.of("x"), null)).toCompletableFuture()
                .get(5, TimeUnit.SECONDS).embeddings()).hasSize(1);
    }

    private static ParleyException embedFailure(CoreEmbeddingService s, Principal caller, String model) {
        CompletionException e = catchThrowableOfType(() -> s.embed(caller, new EmbeddingRequest(model, List.of("x"),
                null)).toCompletableFuture().join(), CompletionException.class);
        return (ParleyException) e.getCause();
    }
}
