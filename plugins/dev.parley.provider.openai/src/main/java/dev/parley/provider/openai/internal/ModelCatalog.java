package dev.parley.provider.openai.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
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

    private final JsonFactory json;
    private final HttpClient http;
    private final String baseUrl;
    private final Map<String, String> headers;
    private final Duration timeout;

    ModelCatalog(JsonFactory json, HttpClient http, String baseUrl, Map<String, String> headers, Duration timeout) {
        this.json = json;
        this.http = http;
        this.baseUrl = baseUrl;
        this.headers = headers;
        this.timeout = timeout;
    }

    /** The chat model ids upstream lists, sorted; throws when upstream cannot be asked or answers badly. */
    List<String> fetch() throws IOException, InterruptedException {
        URI uri = URI.create(baseUrl + "/models");
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).version(Upstream.httpVersion(uri)).timeout(timeout).GET();
        headers.forEach(request::header);
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 401 || response.statusCode() == 403) {
            // OpenAI's message for a wrong key quotes part of it, and this message is logged: leave it out.
            throw new IOException("GET /models answered HTTP " + response.statusCode()
                    + ": the API key was refused — check OPENAI_API_KEY");
        }
        if (response.statusCode() != 200) {
            throw new IOException("GET /models answered HTTP " + response.statusCode() + ": "
                    + UpstreamErrors.upstreamMessage(response.body()));
        }
        List<String> ids = new ArrayList<>();
        boolean sawData = false;
        try (JsonParser p = json.createParser(response.body())) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("GET /models answered without a data array");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (!"data".equals(field) || value != JsonToken.START_ARRAY) {
                    p.skipChildren();
                    continue;
                }
                sawData = true;
                for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                    if (t != JsonToken.START_OBJECT) {
                        p.skipChildren();
                        continue;
                    }
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String f = p.currentName();
                        if (p.nextToken() == JsonToken.VALUE_STRING && "id".equals(f)) {
                            String id = p.getText();
                            if (!id.isBlank() && isChatModel(id)) {
                                ids.add(id);
                            }
                        } else {
                            p.skipChildren();
                        }
                    }
                }
            }
        }
        if (!sawData) {
            throw new IOException("GET /models answered without a data array");
        }
        ids.sort(null);
        return ids;
    }

    static boolean isChatModel(String id) {
        String lower = id.toLowerCase(Locale.ROOT);
        return NOT_CHAT.stream().noneMatch(lower::contains);
    }
}
