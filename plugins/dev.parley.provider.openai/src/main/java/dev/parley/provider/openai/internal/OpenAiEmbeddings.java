package dev.parley.provider.openai.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import dev.parley.api.embedding.Embedding;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The body of a {@code POST /embeddings} and the reading of its answer, with Jackson's streaming API: vectors go
 * from the bytes into {@code float[]}s without a tree or a boxed number in between.
 */
final class OpenAiEmbeddings {

    private OpenAiEmbeddings() {
    }

    /** {@code {"model", "input": [...], "encoding_format": "float", "dimensions"?}}. */
    static byte[] write(JsonFactory json, EmbeddingRequest request) {
        ByteArrayBuilder out = new ByteArrayBuilder(256);
        try (JsonGenerator g = json.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("model", request.model());
            g.writeArrayFieldStart("input");
            for (String input : request.inputs()) {
                g.writeString(input);
            }
            g.writeEndArray();
            g.writeStringField("encoding_format", "float");
            if (request.dimensions() != null) {
                g.writeNumberField("dimensions", request.dimensions());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * Reads {@code {"data": [{"index", "embedding": [...]}...], "model", "usage": {"prompt_tokens"}}}: one vector per
     * input, each index once; the result is in input order whatever order upstream listed them in.
     *
     * @throws UpstreamProtocolException when the body is not that
     * @throws UpstreamStreamError when the body is an OpenAI error object
     */
    static EmbeddingResponse parse(JsonFactory json, byte[] body, int inputs, String requestedModel) {
        float[][] vectors = new float[inputs][];
        String model = null;
        int promptTokens = 0;
        boolean sawData = false;
        UpstreamStreamError error = null;
        try (JsonParser p = json.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new UpstreamProtocolException("an embeddings answer that is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                switch (field) {
                    case "data" -> {
                        if (value != JsonToken.START_ARRAY) {
                            throw new UpstreamProtocolException("an embeddings answer whose data is not an array");
                        }
                        sawData = true;
                        int position = 0;
                        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                            if (t != JsonToken.START_OBJECT) {
                                throw new UpstreamProtocolException("an embeddings answer with a non-object in data");
                            }
                            item(p, vectors, position++);
                        }
                    }
                    case "model" -> model = value == JsonToken.VALUE_STRING ? p.getText() : model;
                    case "usage" -> promptTokens = usage(p, value);
                    case "error" -> {
                        if (value == JsonToken.START_OBJECT) {
                            error = error(p);
                        } else if (value != JsonToken.VALUE_NULL) {
                            error = new UpstreamStreamError(value == JsonToken.VALUE_STRING ? p.getText() : null,
                                    null, null, true);
                            p.skipChildren();
                        }
                    }
                    default -> p.skipChildren();
                }
            }
        } catch (JacksonException e) {
            throw new UpstreamProtocolException("an embeddings answer that is not valid JSON (" + e.getOriginalMessage()
                    + ")");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (error != null) {
            throw error;
        }
        if (!sawData) {
            throw new UpstreamProtocolException("an embeddings answer without data");
        }
        List<Embedding> out = new ArrayList<>(inputs);
        for (int i = 0; i < inputs; i++) {
            if (vectors[i] == null) {
                throw new UpstreamProtocolException("an embeddings answer without a vector for input " + i);
            }
            out.add(new Embedding(i, vectors[i]));
        }
        return new EmbeddingResponse(model == null ? requestedModel : model, out, promptTokens);
    }

    private static void item(JsonParser p, float[][] vectors, int position) throws IOException {
        int index = -1;
        float[] vector = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if ("index".equals(field) && value == JsonToken.VALUE_NUMBER_INT) {
                index = p.getIntValue();
            } else if ("embedding".equals(field) && value == JsonToken.START_ARRAY) {
                vector = floats(p);
            } else if ("embedding".equals(field)) {
                throw new UpstreamProtocolException("an embedding that is not an array of numbers");
            } else {
                p.skipChildren();
            }
        }
        if (index < 0) {
            index = position; // some compatible servers leave the index out and list the inputs in order
        }
        if (index >= vectors.length) {
            throw new UpstreamProtocolException("an embedding for input " + index + " of " + vectors.length);
        }
        if (vector == null) {
            throw new UpstreamProtocolException("an embeddings item without its vector");
        }
        if (vectors[index] != null) {
            throw new UpstreamProtocolException("two embeddings for input " + index);
        }
        vectors[index] = vector;
    }

    private static float[] floats(JsonParser p) throws IOException {
        float[] v = new float[256];
        int n = 0;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t != JsonToken.VALUE_NUMBER_FLOAT && t != JsonToken.VALUE_NUMBER_INT) {
                throw new UpstreamProtocolException("an embedding that is not an array of numbers");
            }
            if (n == v.length) {
                v = Arrays.copyOf(v, v.length * 2);
            }
            v[n++] = p.getFloatValue();
        }
        return n == v.length ? v : Arrays.copyOf(v, n);
    }

    private static int usage(JsonParser p, JsonToken value) throws IOException {
        int prompt = 0;
        if (value != JsonToken.START_OBJECT) {
            p.skipChildren();
            return prompt;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String f = p.currentName();
            if (p.nextToken() == JsonToken.VALUE_NUMBER_INT && "prompt_tokens".equals(f)) {
                prompt = p.getIntValue();
            } else {
                p.skipChildren();
            }
        }
        return prompt;
    }

    private static UpstreamStreamError error(JsonParser p) throws IOException {
        String message = null;
        String type = null;
        String code = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String f = p.currentName();
            JsonToken v = p.nextToken();
            if ("message".equals(f) && v == JsonToken.VALUE_STRING) {
                message = p.getText();
            } else if ("type".equals(f) && v == JsonToken.VALUE_STRING) {
                type = p.getText();
            } else if ("code".equals(f) && (v == JsonToken.VALUE_STRING || v == JsonToken.VALUE_NUMBER_INT)) {
                code = p.getText();
            } else {
                p.skipChildren();
            }
        }
        return new UpstreamStreamError(message, type, code, true);
    }
}
