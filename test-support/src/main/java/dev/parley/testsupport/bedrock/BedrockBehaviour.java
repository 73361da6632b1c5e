package dev.parley.testsupport.bedrock;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@link FakeBedrockServer} does with one Converse or ConverseStream request. Built fluently:
 * {@code BedrockBehaviour.reply("Hi there").cacheReadTokens(7)}, {@code BedrockBehaviour.httpError(429,
 * "ThrottlingException", "Too many requests")}, {@code BedrockBehaviour.echo().exceptionAfter(2,
 * "modelStreamErrorException", "boom")}.
 */
public final class BedrockBehaviour {

    enum Kind {
        ECHO, REPLY, HTTP_ERROR
    }

    /** How a malformed event is malformed. */
    public enum Malformation {
        /** A frame whose message CRC32 does not match its bytes. */
        BAD_CRC,
        /** A well-framed event whose JSON payload is not JSON. */
        BAD_JSON
    }

    /** A tool use the answer asks for. */
    public record ToolUse(String id, String name, String inputJson) {
    }

    final Kind kind;
    String text;
    final List<ToolUse> toolUses = new ArrayList<>();
    String stopReason;
    int status;
    String errorType;
    String errorMessage;
    Long retryAfterSeconds;
    int cacheReadTokens;
    int cacheWriteTokens;
    int cutAfter = -1;
    int malformedAfter = -1;
    Malformation malformation = Malformation.BAD_CRC;
    int exceptionAfter = -1;
    String exceptionType;
    String exceptionMessage;
    boolean endWithoutStop;
    Duration firstEventDelay;
    Duration tokenDelay;
    int inputPieceChars;

    private BedrockBehaviour(Kind kind) {
        this.kind = kind;
    }

    /** Answers "echo: " and the last user message's text. */
    public static BedrockBehaviour echo() {
        return new BedrockBehaviour(Kind.ECHO);
    }

    /** Answers {@code text}, sent word by word when streamed. */
    public static BedrockBehaviour reply(String text) {
        BedrockBehaviour b = new BedrockBehaviour(Kind.REPLY);
        b.text = text;
        return b;
    }

    /** Answers with tool uses only (stop reason {@code tool_use}). */
    public static BedrockBehaviour toolUses(ToolUse... uses) {
        BedrockBehaviour b = new BedrockBehaviour(Kind.REPLY);
        b.text = "";
        b.toolUses.addAll(List.of(uses));
        b.stopReason = "tool_use";
        return b;
    }

    /**
     * An HTTP error as Bedrock sends it: {@code status}, {@code x-amzn-ErrorType: <errorType>:...} and
     * {@code {"message": ...}}.
     */
    public static BedrockBehaviour httpError(int status, String errorType, String message) {
        BedrockBehaviour b = new BedrockBehaviour(Kind.HTTP_ERROR);
        b.status = status;
        b.errorType = errorType;
        b.errorMessage = message;
        return b;
    }

    /** Text before the tool uses (a model that says something, then calls tools). */
    public BedrockBehaviour withText(String text) {
        this.text = text;
        return this;
    }

    public BedrockBehaviour stopReason(String reason) {
        this.stopReason = reason;
        return this;
    }

    /** A {@code Retry-After} header on an HTTP error. */
    public BedrockBehaviour retryAfter(long seconds) {
        this.retryAfterSeconds = seconds;
        return this;
    }

    public BedrockBehaviour cacheReadTokens(int n) {
        this.cacheReadTokens = n;
        return this;
    }

    public BedrockBehaviour cacheWriteTokens(int n) {
        this.cacheWriteTokens = n;
        return this;
    }

    /** Drops the connection after {@code n} text deltas. */
    public BedrockBehaviour cutAfter(int n) {
        this.cutAfter = n;
        return this;
    }

    /** Sends a malformed event after {@code n} text deltas. */
    public BedrockBehaviour malformedAfter(int n, Malformation how) {
        this.malformedAfter = n;
        this.malformation = how;
        return this;
    }

    /** Sends an exception message (e.g. {@code throttlingException}) after {@code n} text deltas, then ends. */
    public BedrockBehaviour exceptionAfter(int n, String exceptionType, String message) {
        this.exceptionAfter = n;
        this.exceptionType = exceptionType;
        this.exceptionMessage = message;
        return this;
    }

    /** Ends the stream cleanly but without messageStop and metadata. */
    public BedrockBehaviour endWithoutStop() {
        this.endWithoutStop = true;
        return this;
    }

    public BedrockBehaviour firstEventDelay(Duration d) {
        this.firstEventDelay = d;
        return this;
    }

    public BedrockBehaviour tokenDelay(Duration d) {
        this.tokenDelay = d;
        return this;
    }

    /**
     * Streams each tool use's input in {@code contentBlockDelta} pieces of at most {@code chars} characters, cut
     * wherever that falls (inside a key, a string or a number); by default in two halves.
     */
    public BedrockBehaviour inputInPiecesOf(int chars) {
        if (chars < 1) {
            throw new IllegalArgumentException("a piece holds at least one character: " + chars);
        }
        this.inputPieceChars = chars;
        return this;
    }

    /** The pieces a tool use's (compact) input is streamed in. */
    List<String> inputPieces(String input) {
        if (inputPieceChars <= 0) {
            int mid = input.length() / 2;
            return List.of(input.substring(0, mid), input.substring(mid));
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < input.length(); i += inputPieceChars) {
            out.add(input.substring(i, Math.min(input.length(), i + inputPieceChars)));
        }
        return out;
    }
}
