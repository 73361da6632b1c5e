package dev.parley.provider.openai.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.Usage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One non-streamed {@code chat.completion} body, read with Jackson's streaming parser straight from the bytes. Only
 * what Parley uses is read ({@code choices[0].message.content}, {@code choices[0].message.tool_calls},
 * {@code choices[0].finish_reason}, {@code usage}, {@code model}, {@code error}); everything else is skipped without
 * being turned into strings or objects.
 */
final class CompletionBody implements UpstreamAnswer {

    private String text = "";
    private final List<ToolCall> toolCalls = new ArrayList<>(2);
    private String finishReason;
    private String model;
    private int promptTokens = -1;
    private int completionTokens = -1;
    private int cachedTokens;

    private CompletionBody() {
    }

    /**
     * Reads {@code length} bytes of {@code body}.
     *
     * @throws UpstreamProtocolException when the body is not one JSON object with a choice
     * @throws UpstreamStreamError when the body is an OpenAI error object
     */
    static CompletionBody parse(JsonFactory json, byte[] body, int length) {
        CompletionBody answer = new CompletionBody();
        try (JsonParser p = json.createParser(body, 0, length)) {
            answer.read(p);
        } catch (JacksonException e) {
            throw new UpstreamProtocolException("an answer that is not valid JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            // Parsing memory: only a broken parser gets here.
            throw new java.io.UncheckedIOException(e);
        }
        return answer;
    }

    private void read(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new UpstreamProtocolException("an answer that is not a JSON object");
        }
        boolean sawChoice = false;
        UpstreamStreamError error = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "choices" -> sawChoice |= choices(p, value);
                case "usage" -> usage(p, value);
                case "model" -> {
                    if (value == JsonToken.VALUE_STRING) {
                        model = p.getText();
                    }
                }
                case "error" -> error = error(p, value);
                default -> p.skipChildren();
            }
        }
        if (p.nextToken() != null) {
            throw new UpstreamProtocolException("content after the answer's JSON object");
        }
        if (error != null) {
            throw error;
        }
        if (!sawChoice) {
            throw new UpstreamProtocolException("an answer without choices");
        }
    }

    /** @return true when there was a first choice */
    private boolean choices(JsonParser p, JsonToken value) throws IOException {
        if (value != JsonToken.START_ARRAY) {
            p.skipChildren();
            return false;
        }
        boolean first = true;
        boolean saw = false;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (first && t == JsonToken.START_OBJECT) {
                choice(p);
                saw = true;
            } else {
                p.skipChildren(); // Parley asks for one choice (n defaults to 1)
            }
            first = false;
        }
        return saw;
    }

    private void choice(JsonParser p) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if ("message".equals(field) && value == JsonToken.START_OBJECT) {
                message(p);
            } else if ("finish_reason".equals(field) && value == JsonToken.VALUE_STRING) {
                finishReason = p.getText();
            } else {
                p.skipChildren();
            }
        }
    }

    private void message(JsonParser p) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if ("content".equals(field) && value == JsonToken.VALUE_STRING) {
                text = p.getText();
            } else if ("tool_calls".equals(field) && value == JsonToken.START_ARRAY) {
                for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
                    if (t == JsonToken.START_OBJECT) {
                        toolCall(p);
                    } else {
                        p.skipChildren();
                    }
                }
            } else {
                p.skipChildren();
            }
        }
    }

    /** {@code {id, type, function: {name, arguments}}}. */
    private void toolCall(JsonParser p) throws IOException {
        String id = null;
        String name = null;
        String arguments = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if ("id".equals(field) && value == JsonToken.VALUE_STRING && p.getTextLength() > 0) {
                id = p.getText();
            } else if ("function".equals(field) && value == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String f = p.currentName();
                    JsonToken v = p.nextToken();
                    if ("name".equals(f) && v == JsonToken.VALUE_STRING && p.getTextLength() > 0) {
                        name = p.getText();
                    } else if ("arguments".equals(f) && v == JsonToken.VALUE_STRING) {
                        arguments = p.getText();
                    } else {
                        p.skipChildren();
                    }
                }
            } else {
                p.skipChildren();
            }
        }
        if (name == null) {
            throw new UpstreamProtocolException("a tool call without a function name");
        }
        toolCalls.add(new ToolCall(id, name, arguments == null || arguments.isEmpty() ? "{}" : arguments));
    }

    private void usage(JsonParser p, JsonToken value) throws IOException {
        if (value != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            if ("prompt_tokens".equals(field) && v == JsonToken.VALUE_NUMBER_INT) {
                promptTokens = p.getIntValue();
            } else if ("completion_tokens".equals(field) && v == JsonToken.VALUE_NUMBER_INT) {
                completionTokens = p.getIntValue();
            } else if ("prompt_tokens_details".equals(field) && v == JsonToken.START_OBJECT) {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String f = p.currentName();
                    if (p.nextToken() == JsonToken.VALUE_NUMBER_INT && "cached_tokens".equals(f)) {
                        cachedTokens = p.getIntValue();
                    } else {
                        p.skipChildren();
                    }
                }
            } else {
                p.skipChildren();
            }
        }
    }

    private static UpstreamStreamError error(JsonParser p, JsonToken value) throws IOException {
        if (value == JsonToken.VALUE_STRING) {
            return new UpstreamStreamError(p.getText(), null, null, true);
        }
        if (value != JsonToken.START_OBJECT) {
            p.skipChildren();
            return value == JsonToken.VALUE_NULL ? null : new UpstreamStreamError(null, null, null, true);
        }
        String message = null;
        String type = null;
        String code = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            boolean scalar = v == JsonToken.VALUE_STRING || v == JsonToken.VALUE_NUMBER_INT;
            if ("message".equals(field) && v == JsonToken.VALUE_STRING) {
                message = p.getText();
            } else if ("type".equals(field) && v == JsonToken.VALUE_STRING) {
                type = p.getText();
            } else if ("code".equals(field) && scalar) {
                code = p.getText();
            } else {
                p.skipChildren();
            }
        }
        return new UpstreamStreamError(message, type, code, true);
    }

    @Override
    public String text() {
        return text;
    }

    @Override
    public List<ToolCall> toolCalls() {
        return List.copyOf(toolCalls);
    }

    @Override
    public FinishReason finishReason(boolean hasToolCalls) {
        return UpstreamAnswer.finishReason(finishReason, hasToolCalls);
    }

    @Override
    public Usage usage() {
        return UpstreamAnswer.usage(promptTokens, completionTokens, cachedTokens);
    }

    @Override
    public String model() {
        return model;
    }
}
