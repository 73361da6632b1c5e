package dev.parley.budgets.internal;

import java.math.BigDecimal;

/** What a scope spent in a period: requests and tokens reserved (estimates until settled), cost settled. */
record Spend(long requests, long tokens, BigDecimal costUsd) {
    static final Spend NONE = new Spend(0, 0, BigDecimal.ZERO);
}
