package dev.parley.provider.openai.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Asks an OpenAI-compatible server which models it serves ({@code GET {baseUrl}/models}). */
final class ModelCatalog {

    /** Ids containing these are not chat models (embeddings, audio, images, moderation, legacy completions). */
    private static final List<String> NOT_CHAT = List.of("embedding", "whisper", "tts", "dall-e", "moderation",
            "davinci", "babbage", "transcribe", "image", "audio", "realtime", "search");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http;
    private final String baseUrl;
    private final Map<String, String> headers;
    private final Duration timeout;

    ModelCatalog(HttpClient http, String baseUrl, Map<String, String> headers, Duration timeout) {
        this.http = http;
        this.baseUrl = baseUrl;
        this.headers = headers;
        this.timeout = timeout;
    }

    /** The chat model ids upstream lists, sorted; throws when upstream cannot be asked or answers badly. */
    List<String> fetch() throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + "/models")).timeout(timeout).GET();
        headers.forEach(request::header);
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("GET /models answered HTTP " + response.statusCode() + ": "
                    + UpstreamErrors.upstreamMessage(response.body()));
        }
        JsonNode data = JSON.readTree(response.body()).path("data");
        if (!data.isArray()) {
            throw new IOException("GET /models answered without a data array");
        }
        List<String> ids = new ArrayList<>();
        for (JsonNode m : data) {
            String id = m.path("id").asText("");
            if (!id.isBlank() && isChatModel(id)) {
                ids.add(id);
            }
        }
        ids.sort(null);
        return ids;
    }

    static boolean isChatModel(String id) {
        String lower = id.toLowerCase(Locale.ROOT);
        return NOT_CHAT.stream().noneMatch(lower::contains);
    }
}
