/**
 * Chat conversations, messages and the chat service web front ends call. 1.1: {@code ChatService.sendWhole} and
 * {@code completeWhole}, for a client that did not ask for a stream. 1.2: content parts and tool messages in
 * {@code ChatMessage}; {@code ChatService.estimateInputTokens}. 1.3: {@code TurnResult.route}, the target that
 * answered a turn and its cost ({@code AnswerRoute}). 1.4: {@code TurnListener.onToolCallDelta} and
 * {@code onAnsweringModel}, tool calls as they stream and the target answering before the first token.
 * 2.1: {@code Chat.resume} and {@code resumable}, {@code TurnListener.onInterrupted}: a streamed answer resumed from
 * the stream log after a lost connection.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.1.0")
package dev.parley.api.chat;
