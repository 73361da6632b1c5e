package dev.parley.web.rest.internal;

import dev.parley.api.embedding.Embedding;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.embedding.EmbeddingService;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Principal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

/** An {@link EmbeddingService} for the REST tests: one model, 3-dimensional vectors {index, length, 0.5}. */
final class ScriptedEmbeddingService implements EmbeddingService {
    static final String MODEL = "test-embed";
    final List<EmbeddingRequest> requests = new CopyOnWriteArrayList<>();
    /** Who each request came from, in order: the edge always names the caller. */
    final List<Principal> callers = new CopyOnWriteArrayList<>();
    volatile ParleyException failure;

    @Override
    public List<EmbeddingModel> models() {
        return List.of(new EmbeddingModel(MODEL, "scripted", 3, 100, 10, false));
    }

    @Override
    public CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
        requests.add(request);
        if (failure != null) {
            return CompletableFuture.failedFuture(failure);
        }
        if (!request.model().equals(MODEL)) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.MODEL_NOT_FOUND, "embedding model "
                    + request.model() + " is not available"));
        }
        List<Embedding> out = new ArrayList<>();
        for (int i = 0; i < request.inputs().size(); i++) {
            out.add(new Embedding(i, new float[] {i, request.inputs().get(i).length(), 0.5f}));
        }
        return CompletableFuture.completedFuture(new EmbeddingResponse(MODEL, out, 4));
    }

    /** Scopes only: tenants are core's (its tests cover them). */
    @Override
    public List<EmbeddingModel> models(Principal caller) {
        return models().stream().filter(m -> caller.mayUseModel(m.id())).toList();
    }

    @Override
    public CompletionStage<EmbeddingResponse> embed(Principal caller, EmbeddingRequest request) {
        callers.add(caller);
        if (!caller.mayUseModel(request.model())) {
            return CompletableFuture.failedFuture(new ParleyException(ErrorCode.FORBIDDEN, "This credential may not "
                    + "use model '" + request.model() + "'."));
        }
        return embed(request);
    }
}
