package dev.parley.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.embedding.Embedding;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CoreEmbeddingServiceTest {

    /** Embeds each input as {length, first char}; answers its vectors in reverse order to test re-ordering. */
    static final class FakeEmbedder implements EmbeddingProvider {
        final String id;
        final List<EmbeddingModel> models;
        final List<EmbeddingRequest> calls = new CopyOnWriteArrayList<>();
        volatile RuntimeException failure;

        FakeEmbedder(String id, EmbeddingModel... models) {
            this.id = id;
            this.models = List.of(models);
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public List<EmbeddingModel> embeddingModels() {
            return models;
        }

        @Override
        public CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
            calls.add(request);
            if (failure != null) {
                return CompletableFuture.failedFuture(failure);
            }
            List<Embedding> out = new ArrayList<>();
            for (int i = request.inputs().size() - 1; i >= 0; i--) {
                String s = request.inputs().get(i);
                out.add(new Embedding(i, new float[] {s.length(), s.charAt(0)}));
            }
            return CompletableFuture.completedFuture(new EmbeddingResponse(request.model() + "-v1", out,
                    request.inputs().size()));
        }
    }

    private static EmbeddingModel model(String id, String provider, int batch, boolean reducible) {
        return new EmbeddingModel(id, provider, 2, 100, batch, reducible);
    }

    private static EmbeddingResponse embed(CoreEmbeddingService s, EmbeddingRequest r) throws Exception {
        return s.embed(r).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    private static ParleyException failure(CoreEmbeddingService s, EmbeddingRequest r) {
        try {
            s.embed(r).toCompletableFuture().join();
        } catch (CompletionException e) {
            return (ParleyException) e.getCause();
        }
        throw new AssertionError("expected a failure");
    }

    @Test
    void largeBatchesAreSplitAndComeBackInInputOrder() throws Exception {
        CoreEmbeddingService service = new CoreEmbeddingService(100, 100);
        FakeEmbedder p = new FakeEmbedder("openai", model("small", "openai", 2, false));
        service.bindProvider(p);

        EmbeddingResponse r = embed(service, new EmbeddingRequest("small", List.of("a", "bb", "ccc", "dddd", "e"), null));

        assertThat(p.calls).extracting(c -> c.inputs().size()).containsExactly(2, 2, 1);
        assertThat(r.embeddings()).extracting(Embedding::index).containsExactly(0, 1, 2, 3, 4);
        assertThat(r.embeddings()).extracting(e -> e.vector()[0]).containsExactly(1f, 2f, 3f, 4f, 1f);
        assertThat(r.promptTokens()).isEqualTo(5);
        assertThat(r.model()).isEqualTo("small-v1");
    }

    @Test
    void modelsRouteByBareIdOrProviderPrefixedAndNeverByBindOrder() throws Exception {
        CoreEmbeddingService service = new CoreEmbeddingService(100, 100);
        FakeEmbedder zeta = new FakeEmbedder("zeta", model("shared", "zeta", 10, false));
        FakeEmbedder alpha = new FakeEmbedder("alpha", model("shared", "alpha", 10, false),
                model("org/with-slash", "alpha", 10, false));
        service.bindProvider(zeta);
        service.bindProvider(alpha);

        embed(service, new EmbeddingRequest("shared", List.of("x"), null));
        embed(service, new EmbeddingRequest("zeta/shared", List.of("x"), null));
        embed(service, new EmbeddingRequest("org/with-slash", List.of("x"), null));

        assertThat(alpha.calls).extracting(EmbeddingRequest::model).containsExactly("shared", "org/with-slash");
        assertThat(zeta.calls).extracting(EmbeddingRequest::model).containsExactly("shared");
        assertThat(service.models()).extracting(m -> m.providerId() + "/" + m.id())
                .containsExactly("alpha/org/with-slash", "alpha/shared");
        // Rebinding zeta last changes nothing: the provider id decides, not bind order.
        service.unbindProvider(zeta);
        service.bindProvider(zeta);
        embed(service, new EmbeddingRequest("shared", List.of("y"), null));
        assertThat(alpha.calls).hasSize(3);
    }

    @Test
    void aNewerRegistrationOfTheSameProviderTakesOverItsModels() throws Exception {
        CoreEmbeddingService service = new CoreEmbeddingService(100, 100);
        FakeEmbedder v1 = new FakeEmbedder("openai", model("small", "openai", 10, false));
        FakeEmbedder v2 = new FakeEmbedder("openai", model("small", "openai", 10, false));
        service.bindProvider(v1);
        service.bindProvider(v2);

        embed(service, new EmbeddingRequest("small", List.of("x"), null));

        assertThat(v2.calls).hasSize(1);
        assertThat(v1.calls).isEmpty();
    }

    @Test
    void boundsUnknownModelsDimensionsAndProviderFailuresAreParleyErrors() {
        CoreEmbeddingService service = new CoreEmbeddingService(3, 5);
        FakeEmbedder p = new FakeEmbedder("openai", model("fixed", "openai", 10, false),
                model("short", "openai", 10, true));
        service.bindProvider(p);

        ParleyException tooMany = failure(service, new EmbeddingRequest("fixed", List.of("a", "b", "c", "d"), null));
        ParleyException tooLong = failure(service, new EmbeddingRequest("fixed", List.of("a", "123456"), null));
        ParleyException empty = failure(service, new EmbeddingRequest("fixed", List.of("a", ""), null));
        ParleyException unknown = failure(service, new EmbeddingRequest("nope", List.of("a"), null));
        ParleyException fixed = failure(service, new EmbeddingRequest("fixed", List.of("a"), 1));
        ParleyException wider = failure(service, new EmbeddingRequest("short", List.of("a"), 3));
        p.failure = new IllegalStateException("boom");
        ParleyException crashed = failure(service, new EmbeddingRequest("fixed", List.of("a"), null));
        p.failure = new ParleyException(ErrorCode.RATE_LIMITED, "slow down");
        ParleyException limited = failure(service, new EmbeddingRequest("fixed", List.of("a"), null));

        assertThat(tooMany.param()).hasValue("input");
        assertThat(tooLong.code()).isEqualTo(ErrorCode.TOO_LARGE);
        assertThat(tooLong.param()).hasValue("input[1]");
        assertThat(empty.param()).hasValue("input[1]");
        assertThat(unknown.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(unknown.getMessage()).contains("fixed, short");
        assertThat(fixed.param()).hasValue("dimensions");
        assertThat(wider.param()).hasValue("dimensions");
        assertThat(crashed.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(limited.code()).isEqualTo(ErrorCode.RATE_LIMITED);
        assertThat(p.calls).hasSize(2);
    }

    @Test
    void anEmbeddingProviderIdAnotherPluginHoldsServesNothingWhileAnUpgradeOfTheSamePluginTakesOver() throws Exception {
        ModelRouter router = new ModelRouter(new InMemoryRouterStateStore(), TestConfigs.routerSettings(java.util.Map.of()),
                new ManualTimers(), new MutableClock(), null);
        try {
            CoreEmbeddingService service = new CoreEmbeddingService(100, 100);
            service.router = router;
            FakeEmbedder victim = new FakeEmbedder("emb", model("vectors", "emb", 10, false));
            FakeEmbedder hijacker = new FakeEmbedder("emb", model("vectors", "emb", 10, false));
            service.bindProvider(victim, null, "example.emb");
            service.bindProvider(hijacker, null, "evil.plugin");

            embed(service, new EmbeddingRequest("vectors", List.of("x"), null));
            embed(service, new EmbeddingRequest("emb/vectors", List.of("x"), null));
            assertThat(victim.calls).hasSize(2);
            assertThat(hijacker.calls).isEmpty();

            FakeEmbedder upgrade = new FakeEmbedder("emb", model("vectors", "emb", 10, false));
            service.bindProvider(upgrade, null, "example.emb");
            embed(service, new EmbeddingRequest("vectors", List.of("x"), null));
            assertThat(upgrade.calls).hasSize(1);
            assertThat(hijacker.calls).isEmpty();

            // Only when the holder is uninstalled does the other plugin's registration serve.
            service.unbindProvider(victim);
            service.unbindProvider(upgrade);
            router.bindings().release("example.emb");
            embed(service, new EmbeddingRequest("vectors", List.of("x"), null));
            assertThat(hijacker.calls).hasSize(1);
        } finally {
            router.deactivate();
        }
    }

    @Test
    void registrationsBoundBeforeTheRouterCameBindTheirIdsOldestFirst() throws Exception {
        CoreEmbeddingService service = new CoreEmbeddingService(100, 100);
        FakeEmbedder first = new FakeEmbedder("emb", model("vectors", "emb", 10, false));
        FakeEmbedder second = new FakeEmbedder("emb", model("vectors", "emb", 10, false));
        service.bindProvider(first, null, "first.plugin");
        service.bindProvider(second, null, "second.plugin");
        ModelRouter router = new ModelRouter(new InMemoryRouterStateStore(), TestConfigs.routerSettings(java.util.Map.of()),
                new ManualTimers(), new MutableClock(), null);
        try {
            service.router = router;
            embed(service, new EmbeddingRequest("vectors", List.of("x"), null));

            assertThat(first.calls).hasSize(1);
            assertThat(second.calls).isEmpty();
        } finally {
            router.deactivate();
        }
    }
}
