package dev.parley.api.usage;

import java.util.List;

/** One page of usage records, with the totals over all that match. */
public record UsagePage(List<UsageRecord> items, int offset, int limit, long total, UsageTotals totals) {
    public UsagePage {
        items = List.copyOf(items);
    }
}
