package dev.parley.web.rest.internal;

import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import jakarta.ws.rs.core.Context;
import jakarta.servlet.http.HttpServletRequest;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.ChatService;
import dev.parley.api.embedding.Embedding;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.embedding.EmbeddingService;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.web.rest.internal.OpenAiBodies.EmbeddingItem;
import dev.parley.web.rest.internal.OpenAiBodies.EmbeddingList;
import dev.parley.web.rest.internal.OpenAiBodies.EmbeddingsRequest;
import dev.parley.web.rest.internal.OpenAiBodies.EmbeddingsUsage;
import dev.parley.web.rest.internal.OpenAiBodies.ModelEntry;
import dev.parley.web.rest.internal.OpenAiBodies.ModelList;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * The OpenAI-compatible model list and {@code POST /v1/embeddings}. The chat-completions endpoint is on the hot path
 * and is served by {@link ChatCompletionsServlet} instead (ADR 7).
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.rest.openai")
@JSONRequired
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
public class OpenAiResource {
    private final ChatService chat;
    private final EmbeddingService embeddings;

    @Activate
    public OpenAiResource(@Reference ChatService chat, @Reference EmbeddingService embeddings) {
        this.chat = chat;
        this.embeddings = embeddings;
    }

    /** Chat models, then embedding models (owned by their provider), as OpenAI lists both in one list. */
    @GET
    @Path("models")
    public ModelList models(@Context HttpServletRequest request) {
        Principal caller = Callers.of(request);
        return new ModelList("list", Stream.concat(
                chat.as(caller).models().stream().map(m -> new ModelEntry(m.id(), "model", 0, m.providerId())),
                embeddings.models(caller).stream().map(m -> new ModelEntry(m.id(), "model", 0, m.providerId())))
                .toList());
    }

    /**
     * {@code input} is a string or an array of strings; token arrays are refused. Vectors come back as numbers, or
     * with {@code encoding_format: base64} as the little-endian float32 bytes, base64-encoded, as OpenAI sends them.
     */
    @POST
    @Path("embeddings")
    @Consumes(MediaType.APPLICATION_JSON)
    public CompletionStage<EmbeddingList> embeddings(EmbeddingsRequest body, @Context HttpServletRequest request) {
        Principal caller = Principal.required(Callers.of(request), Permission.CHAT);
        if (body == null) {
            throw ParleyException.invalid(null, "The request body must be a JSON object.");
        }
        if (body.model() == null || body.model().isBlank()) {
            throw ParleyException.invalid("model", "'model' is required.");
        }
        if (!caller.mayUseModel(body.model())) {
            throw new ParleyException(ErrorCode.FORBIDDEN, "This credential may not use model '" + body.model() + "'.");
        }
        boolean base64 = encoding(body.encodingFormat());
        if (body.dimensions() != null && body.dimensions() <= 0) {
            throw ParleyException.invalid("dimensions", "'dimensions' must be positive.");
        }
        List<String> inputs = inputs(body.input());
        // As the caller: core checks its permission and model scope again and counts the request in its budgets.
        return embeddings.embed(caller, new EmbeddingRequest(body.model(), inputs, body.dimensions()))
                .handle((r, e) -> {
                    if (e != null) {
                        throw new CompletionException(unwrap(e));
                    }
                    return list(r, base64);
                });
    }

    private static boolean encoding(String format) {
        if (format == null || format.equals("float")) {
            return false;
        }
        if (format.equals("base64")) {
            return true;
        }
        throw ParleyException.invalid("encoding_format", "'encoding_format' must be float or base64.");
    }

    private static List<String> inputs(JsonNode input) {
        if (input == null || input.isNull() || input.isMissingNode()) {
            throw ParleyException.invalid("input", "'input' is required: a string or an array of strings.");
        }
        if (input.isTextual()) {
            if (input.textValue().isEmpty()) {
                throw ParleyException.invalid("input", "'input' must not be empty.");
            }
            return List.of(input.textValue());
        }
        if (!input.isArray() || input.isEmpty()) {
            throw ParleyException.invalid("input", "'input' must be a string or a non-empty array of strings.");
        }
        List<String> out = new ArrayList<>(input.size());
        for (int i = 0; i < input.size(); i++) {
            JsonNode e = input.get(i);
            if (e.isNumber() || e.isArray()) {
                throw ParleyException.invalid("input", "Token arrays are not accepted: send the text as a string or "
                        + "an array of strings.");
            }
            if (!e.isTextual()) {
                throw ParleyException.invalid("input[" + i + "]", "'input[" + i + "]' must be a string.");
            }
            if (e.textValue().isEmpty()) {
                throw ParleyException.invalid("input[" + i + "]", "'input[" + i + "]' must not be empty.");
            }
            out.add(e.textValue());
        }
        return out;
    }

    private static EmbeddingList list(EmbeddingResponse r, boolean base64) {
        List<EmbeddingItem> data = new ArrayList<>(r.embeddings().size());
        for (Embedding e : r.embeddings()) {
            data.add(new EmbeddingItem("embedding", e.index(), base64 ? base64(e.vector()) : e.vector()));
        }
        return new EmbeddingList("list", data, r.model(), new EmbeddingsUsage(r.promptTokens(), r.promptTokens()));
    }

    private static String base64(float[] vector) {
        ByteBuffer bytes = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(vector);
        return Base64.getEncoder().encodeToString(bytes.array());
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
