package dev.parley.core.internal;

import static dev.parley.core.internal.ScriptedProvider.model;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.SendMessage;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.routing.ModelAccess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a tenant may use, applied by core in one place: the model list, every chat request's plan (turns, completions,
 * token counts) and embeddings. A model the tenant may not use is answered as an unknown one, listing only the
 * tenant's models; an alias routes the tenant only to its allowed targets.
 */
class TenantModelsInCoreTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final InMemoryConversationStore store = new InMemoryConversationStore();
    private final List<ScriptedProvider> providers = new ArrayList<>();
    private final FakeAccess access = new FakeAccess();
    private CoreChatService chat;
    private ModelRouter router;
    private ScriptedProvider alpha;
    private ScriptedProvider beta;

    private final Principal acme = member("acme");
    private final Principal globex = member("globex");

    static Principal member(String tenant) {
        return new Principal("ann", tenant, Set.of(Role.MEMBER), AuthMethod.PASSWORD, "test", Set.of(), null,
                "s-" + tenant);
    }

    /**
     * Each tenant's rules: denied providers (as if their plugin were kept from it) and model settings, looked up as
     * the real service does; counts the look-ups.
     */
    static final class FakeAccess implements ModelAccess {
        final Map<String, Set<String>> deniedProviders = new ConcurrentHashMap<>();
        final Map<String, Map<String, Boolean>> settings = new ConcurrentHashMap<>();
        final AtomicInteger lookups = new AtomicInteger();

        @Override
        public TenantModels forTenant(String tenantId) {
            lookups.incrementAndGet();
            Set<String> denied = deniedProviders.getOrDefault(tenantId, Set.of());
            Map<String, Boolean> models = settings.getOrDefault(tenantId, Map.of());
            if (denied.isEmpty() && models.isEmpty()) {
                return UNRESTRICTED;
            }
            return new TenantModels() {
                @Override
                public boolean unrestricted() {
                    return false;
                }

                @Override
                public boolean allowsName(String name) {
                    return models.getOrDefault(name, true);
                }

                @Override
                public boolean allowsTarget(String providerId, String modelId) {
                    if (denied.contains(providerId)) {
                        return false;
                    }
                    Boolean set = models.get(providerId + "/" + modelId);
                    return set != null ? set : models.getOrDefault(modelId, true);
                }
            };
        }
    }

    @BeforeEach
    void setUp() {
        alpha = new ScriptedProvider("alpha", model("a-1", "alpha", 8000, 1000), model("shared", "alpha", 8000, 1000));
        beta = new ScriptedProvider("beta", model("b-1", "beta", 8000, 1000), model("shared", "beta", 8000, 1000));
        providers.add(alpha);
        providers.add(beta);
        router = new ModelRouter(new InMemoryRouterStateStore(), TestConfigs.routerSettings(Map.of("aliases",
                new String[] { "fast=alpha/a-1,beta/b-1", "betas=beta/b-1" })), Timers.scheduled(),
                java.time.Clock.systemUTC(), null);
        router.bindProvider(alpha);
        router.bindProvider(beta);
        chat = new CoreChatService(store, router, TestConfigs.config("", 32000, 20, 0));
        chat.modelAccess = access;
    }

    @AfterEach
    void tearDown() {
        chat.deactivate();
        router.deactivate();
        providers.forEach(ScriptedProvider::close);
    }

    private static List<String> ids(List<ModelDescriptor> models) {
        return models.stream().map(ModelDescriptor::id).toList();
    }

    private static ChatRequest request(String model) {
        return new ChatRequest(model, List.of(ChatMessage.user("hi")), ChatOptions.DEFAULTS, List.of());
    }

    private ParleyException refusedCompletion(Principal caller, String model) {
        return catchThrowableOfType(() -> chat.as(caller).completeWhole(request(model),
                new CoreChatServiceTest.RecordingHandler()), ParleyException.class);
    }

    @Test
    void withoutRestrictionsEveryTenantSeesEveryModel() {
        assertThat(ids(chat.as(acme).models())).containsExactly("a-1", "b-1", "beta/shared", "betas", "fast",
                "shared");
        chat.modelAccess = null;
        assertThat(ids(chat.as(acme).models())).containsExactly("a-1", "b-1", "beta/shared", "betas", "fast",
                "shared");
    }

    @Test
    void aModelTheTenantDisabledIsGoneFromItsListAndRefusedAsUnknownWhileAnotherTenantUsesIt() {
        access.settings.put("acme", Map.of("a-1", false));

        assertThat(ids(chat.as(acme).models())).doesNotContain("a-1").contains("b-1", "fast");
        ParleyException disabled = refusedCompletion(acme, "a-1");
        ParleyException unknown = refusedCompletion(acme, "no-such-model");
        assertThat(disabled.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(unknown.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        // The same answer as an unknown model: only the name differs.
        assertThat(disabled.getMessage().replace("a-1 is", "X is"))
                .isEqualTo(unknown.getMessage().replace("no-such-model is", "X is"));
        assertThat(disabled.getMessage()).doesNotContain("a-1,").doesNotContain(": a-1");
        assertThat(alpha.requests).isEmpty();

        chat.as(globex).completeWhole(request("a-1"), new CoreChatServiceTest.RecordingHandler());
        await().atMost(WAIT).until(() -> alpha.requests.size() == 1);
    }

    @Test
    void aProviderKeptFromTheTenantHidesItsModelsAndItsNameFromTheUnknownModelAnswer() {
        access.deniedProviders.put("acme", Set.of("beta"));

        assertThat(ids(chat.as(acme).models())).containsExactly("a-1", "fast", "shared");
        ParleyException e = refusedCompletion(acme, "b-1");
        assertThat(e.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(e.getMessage()).doesNotContain("beta").doesNotContain("b-1,");
        assertThat(refusedCompletion(acme, "beta/shared").code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        // An alias whose every target is kept from the tenant is not there for it.
        assertThat(refusedCompletion(acme, "betas").code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(beta.requests).isEmpty();
    }

    @Test
    void anAliasRoutesTheTenantOnlyToItsAllowedTargetsFallbacksIncluded() {
        access.settings.put("acme", Map.of("alpha/a-1", false));
        alpha.tokens().failWith(new ParleyException(ErrorCode.UPSTREAM_FAILURE, "down"));

        ModelRouter.Plan plan = TenantModelFilter.plan(router, access.forTenant("acme"), acme, "fast");
        assertThat(plan.targets()).extracting(Object::toString).containsExactly("beta/b-1");
        assertThat(plan.first().providerId()).isEqualTo("beta");

        chat.as(acme).completeWhole(request("fast"), new CoreChatServiceTest.RecordingHandler());
        await().atMost(WAIT).until(() -> beta.requests.size() == 1);
        assertThat(alpha.requests).isEmpty();
    }

    @Test
    void anAliasTheTenantDisabledIsUnknownThoughItsTargetsAreAllowed() {
        access.settings.put("acme", Map.of("fast", false));

        assertThat(ids(chat.as(acme).models())).doesNotContain("fast").contains("a-1", "b-1");
        assertThat(refusedCompletion(acme, "fast").code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
    }

    @Test
    void aTenantWithEverythingDisabledButOneModelGetsThatOneAsItsDefault() {
        access.settings.put("acme", Map.of("a-1", false, "beta/shared", false, "shared", false, "fast", false,
                "betas", false));

        assertThat(ids(chat.as(acme).models())).containsExactly("b-1");
        // No model named and no default alias: the tenant's first model, not the router's first (a-1).
        Conversation c = chat.as(acme).createConversation(new NewConversation("t", null, null));
        chat.as(acme).send(c.id(), new SendMessage("hello", null, null), new RecordingListener());
        await().atMost(WAIT).until(() -> beta.requests.size() == 1);
        assertThat(beta.requests.get(0).model()).isEqualTo("b-1");
    }

    @Test
    void aTurnOnADisabledModelIsRefusedBeforeAnythingIsStored() {
        Conversation c = chat.as(acme).createConversation(new NewConversation("t", "a-1", null));
        access.settings.put("acme", Map.of("a-1", false));

        ParleyException e = catchThrowableOfType(() -> chat.as(acme).send(c.id(), new SendMessage("hello", null,
                null), new RecordingListener()), ParleyException.class);

        assertThat(e.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(store.messages(c.id())).isEmpty();
        assertThat(alpha.requests).isEmpty();
        ParleyException count = catchThrowableOfType(() -> chat.as(acme).estimateInputTokens(request("a-1")),
                ParleyException.class);
        assertThat(count.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
    }

    @Test
    void embeddingsAreListedAndRoutedOnlyWithinTheTenantsModels() throws Exception {
        CoreEmbeddingService embeddings = new CoreEmbeddingService(100, 100);
        embeddings.modelAccess = access;
        CoreEmbeddingServiceTest.FakeEmbedder one = new CoreEmbeddingServiceTest.FakeEmbedder("alpha",
                new EmbeddingModel("e-1", "alpha", 2, 100, 10, false));
        CoreEmbeddingServiceTest.FakeEmbedder two = new CoreEmbeddingServiceTest.FakeEmbedder("beta",
                new EmbeddingModel("e-2", "beta", 2, 100, 10, false));
        embeddings.bindProvider(one);
        embeddings.bindProvider(two);
        access.deniedProviders.put("acme", Set.of("beta"));

        assertThat(embeddings.models(acme)).extracting(EmbeddingModel::id).containsExactly("e-1");
        assertThat(embeddings.models(globex)).extracting(EmbeddingModel::id).containsExactly("e-1", "e-2");
        CompletionException refused = catchThrowableOfType(() -> embeddings.embed(acme,
                new EmbeddingRequest("e-2", List.of("x"), null)).toCompletableFuture().join(),
                CompletionException.class);
        ParleyException e = (ParleyException) refused.getCause();
        assertThat(e.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(e.getMessage()).isEqualTo("embedding model e-2 is not available; available embedding models: e-1");
        assertThat(two.calls).isEmpty();

        assertThat(embeddings.embed(acme, new EmbeddingRequest("e-1", List.of("x"), null)).toCompletableFuture()
                .get(5, TimeUnit.SECONDS).embeddings()).hasSize(1);
        assertThat(embeddings.embed(globex, new EmbeddingRequest("e-2", List.of("x"), null)).toCompletableFuture()
                .get(5, TimeUnit.SECONDS).embeddings()).hasSize(1);
    }
}
