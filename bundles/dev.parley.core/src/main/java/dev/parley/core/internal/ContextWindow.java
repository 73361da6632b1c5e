package dev.parley.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ModelDescriptor;

/**
 * Fits a prompt into a model's context window: the system prompt and the new message always stay, the
 * oldest history goes first. The answer's room is reserved up front so the model can still finish.
 */
final class ContextWindow {
    private ContextWindow() {
    }

    /**
     * @param messages      the prompt to send
     * @param promptTokens  its estimated size
     * @param dropped       how many history messages did not fit
     */
    record Fit(List<ChatMessage> messages, int promptTokens, int dropped) {
        Fit {
            messages = List.copyOf(messages);
        }
    }

    /** How many prompt tokens the model allows when {@code requestedMaxTokens} (may be null) is reserved for the answer. */
    static int promptBudget(ModelDescriptor model, Integer requestedMaxTokens) {
        int reserve = model.maxOutputTokens();
        if (requestedMaxTokens != null && requestedMaxTokens > 0) {
            reserve = Math.min(reserve, requestedMaxTokens);
        }
        return model.contextWindow() - reserve;
    }

    /**
     * @param systemPrompt may be null or blank (then no system message is sent)
     * @param history      oldest first, already filtered to what may be replayed
     * @param estimator    the provider's token estimate for a list of messages
     * @throws ParleyException INVALID_REQUEST when even the system prompt plus the new message do not fit
     */
    static Fit fit(String systemPrompt, List<ChatMessage> history, ChatMessage newMessage, ModelDescriptor model,
            Integer requestedMaxTokens, ToIntFunction<List<ChatMessage>> estimator) {
        int limit = promptBudget(model, requestedMaxTokens);
        ChatMessage system = systemPrompt == null || systemPrompt.isBlank() ? null : ChatMessage.system(systemPrompt);

        List<ChatMessage> minimal = assemble(system, List.of(), newMessage);
        int minimalTokens = estimator.applyAsInt(minimal);
        if (minimalTokens > limit) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "message too long for model " + model.id() + ": "
                    + minimalTokens + " tokens, limit " + limit);
        }
        // Estimates grow with every message kept, so the largest fitting suffix can be found by bisection:
        // few estimator calls even for long conversations.
        int lo = 0; // the fewest messages to drop known to fit (all of them)
        int hi = history.size();
        int fitsTokens = minimalTokens;
        int bestDrop = history.size();
        while (lo <= hi) {
            int drop = (lo + hi) >>> 1;
            List<ChatMessage> candidate = assemble(system, history.subList(drop, history.size()), newMessage);
            int tokens = drop == history.size() ? minimalTokens : estimator.applyAsInt(candidate);
            if (tokens <= limit) {
                bestDrop = drop;
                fitsTokens = tokens;
                hi = drop - 1;
            } else {
                lo = drop + 1;
            }
        }
        return new Fit(assemble(system, history.subList(bestDrop, history.size()), newMessage), fitsTokens, bestDrop);
    }

    /**
     * The SPI's default estimate (about four characters per token, 16 characters per message for its framing): what
     * core counts with when a provider's own estimate fails or does not answer in time.
     */
    static int roughEstimate(List<ChatMessage> messages) {
        int chars = 0;
        for (ChatMessage m : messages) {
            chars += m.content().length() + 16;
        }
        return (chars + 3) / 4;
    }

    /**
     * {@link #fit} with the provider's own estimate, run on its plugin's thread through the guard; should that fail or
     * not answer within the guard's call timeout, with {@link #roughEstimate} on this thread.
     */
    static Fit fit(PluginGuard guard, ModelRouter.Candidate route, String systemPrompt, List<ChatMessage> history,
            ChatMessage newMessage, Integer requestedMaxTokens) {
        ModelDescriptor model = route.model();
        return guard.call(route.guarded(), "estimateTokens()",
                () -> fit(systemPrompt, history, newMessage, model, requestedMaxTokens,
                        msgs -> route.provider().estimateTokens(model.id(), msgs)),
                () -> fit(systemPrompt, history, newMessage, model, requestedMaxTokens, ContextWindow::roughEstimate));
    }

    /** The provider's estimate of {@code messages} through the guard; {@link #roughEstimate} when it fails. */
    static int estimate(PluginGuard guard, ModelRouter.Candidate route, List<ChatMessage> messages) {
        return guard.call(route.guarded(), "estimateTokens()",
                () -> route.provider().estimateTokens(route.model().id(), messages), () -> roughEstimate(messages));
    }

    private static List<ChatMessage> assemble(ChatMessage system, List<ChatMessage> history, ChatMessage newMessage) {
        List<ChatMessage> out = new ArrayList<>(history.size() + 2);
        if (system != null) {
            out.add(system);
        }
        out.addAll(history);
        out.add(newMessage);
        return out;
    }
}
