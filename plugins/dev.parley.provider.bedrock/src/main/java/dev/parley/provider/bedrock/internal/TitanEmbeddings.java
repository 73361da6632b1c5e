package dev.parley.provider.bedrock.internal;

import dev.parley.api.embedding.Embedding;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.protocols.jsoncore.JsonNode;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeAsyncClient;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelRequest;

/**
 * Amazon Titan Text Embeddings through InvokeModel (Bedrock user guide, "Amazon Titan Text Embeddings": request
 * {@code {"inputText", "dimensions", "normalize"}}, response {@code {"embedding", "inputTextTokenCount"}}). One input
 * per call, so a batch is one call per input, run side by side.
 */
final class TitanEmbeddings {

    static final String TITAN_V2 = "amazon.titan-embed-text-v2:0";
    static final String TITAN_V1 = "amazon.titan-embed-text-v1";
    /** The output sizes Titan Text Embeddings V2 offers. */
    static final Set<Integer> V2_DIMENSIONS = Set.of(256, 512, 1024);

    private final BedrockRuntimeAsyncClient client;
    private final String providerId;

    TitanEmbeddings(BedrockRuntimeAsyncClient client, String providerId) {
        this.client = client;
        this.providerId = providerId;
    }

    static EmbeddingModel describe(String id, String providerId) {
        if (id.startsWith("amazon.titan-embed-text-v1")) {
            return new EmbeddingModel(id, providerId, 1536, 8192, 1, false);
        }
        if (!id.startsWith("amazon.titan-embed-text-v2")) {
            throw new IllegalArgumentException("embedding model " + id
                    + " is not an Amazon Titan Text Embeddings model; only those are supported");
        }
        return new EmbeddingModel(id, providerId, 1024, 8192, 1, true);
    }

    CompletionStage<EmbeddingResponse> embed(EmbeddingModel model, EmbeddingRequest request, Duration timeout,
            ScheduledExecutorService timers) {
        Integer dims = request.dimensions();
        if (dims != null && !model.reducible() && dims != model.dimensions()) {
            return failed("model " + model.id() + " gives " + model.dimensions() + "-dimension vectors only");
        }
        if (dims != null && model.reducible() && !V2_DIMENSIONS.contains(dims)) {
            return failed("model " + model.id() + " gives 256, 512 or 1024 dimensions, not " + dims);
        }
        List<CompletableFuture<float[]>> vectors = new ArrayList<>();
        int[] tokens = new int[request.inputs().size()];
        for (int i = 0; i < request.inputs().size(); i++) {
            String input = request.inputs().get(i);
            if (input.isEmpty()) {
                cancelAll(vectors);
                return failed("input " + i + " is empty; Titan embeds non-empty text only");
            }
            int index = i;
            StringBuilder body = new StringBuilder("{\"inputText\":");
            JsonDocuments.quote(input, body);
            if (model.reducible()) {
                body.append(",\"dimensions\":").append(dims == null ? model.dimensions() : dims)
                        .append(",\"normalize\":true");
            }
            body.append('}');
            CompletableFuture<float[]> call = client.invokeModel(InvokeModelRequest.builder().modelId(model.id())
                    .contentType("application/json").accept("application/json")
                    .body(SdkBytes.fromUtf8String(body.toString())).build())
                    .thenApply(r -> {
                        JsonNode root = JsonNode.parser().parse(r.body().asUtf8String());
                        List<JsonNode> values = root.field("embedding").filter(JsonNode::isArray)
                                .orElseThrow(() -> new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                                        "Bedrock's embedding answer has no embedding array"))
                                .asArray();
                        float[] v = new float[values.size()];
                        for (int k = 0; k < v.length; k++) {
                            v[k] = Float.parseFloat(values.get(k).asNumber());
                        }
                        tokens[index] = root.field("inputTextTokenCount").filter(JsonNode::isNumber)
                                .map(n -> Integer.parseInt(n.asNumber())).orElse(0);
                        return v;
                    });
            vectors.add(call);
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(vectors.toArray(CompletableFuture[]::new));
        var timer = timers.schedule(() -> {
            all.completeExceptionally(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                    "Bedrock did not answer the embedding request in time"));
            cancelAll(vectors);
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        return all.handle((v, error) -> {
            timer.cancel(false);
            if (error != null) {
                cancelAll(vectors);
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                throw BedrockErrors.map(cause, model.id());
            }
            List<Embedding> out = new ArrayList<>(vectors.size());
            int total = 0;
            for (int i = 0; i < vectors.size(); i++) {
                out.add(new Embedding(i, vectors.get(i).join()));
                total += tokens[i];
            }
            return new EmbeddingResponse(model.id(), out, total);
        });
    }

    private static void cancelAll(List<CompletableFuture<float[]>> calls) {
        for (CompletableFuture<float[]> c : calls) {
            c.cancel(true);
        }
    }

    private static CompletionStage<EmbeddingResponse> failed(String message) {
        return CompletableFuture.failedFuture(new ParleyException(ErrorCode.INVALID_REQUEST, message));
    }
}
