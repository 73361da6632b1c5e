package dev.parley.api.chat;

import java.math.BigDecimal;

/**
 * Who gave an answer and what it cost: what a client sees at the end of a turn.
 *
 * @param requested  what was asked for: an alias, a model id or {@code providerId/model}; null when the default was
 *                   used
 * @param providerId the provider that answered
 * @param model      the model that answered, as its provider names it
 * @param attempts   how many calls were made, the answering one included (more than one after a retry or fallback)
 * @param costUsd    the cost from the price table, null when the model has no price
 * @since 1.3
 */
public record AnswerRoute(String requested, String providerId, String model, int attempts, BigDecimal costUsd) {
}
