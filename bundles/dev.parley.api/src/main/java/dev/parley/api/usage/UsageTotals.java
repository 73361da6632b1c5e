package dev.parley.api.usage;

import java.math.BigDecimal;

/**
 * Sums over every record a query matches (not only one page).
 *
 * @param costUsd the sum of the priced records' costs; records without a price add nothing
 */
public record UsageTotals(long requests, long promptTokens, long completionTokens, long cachedPromptTokens,
        BigDecimal costUsd) {
}
