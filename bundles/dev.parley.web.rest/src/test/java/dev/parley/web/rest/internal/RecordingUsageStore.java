package dev.parley.web.rest.internal;

import dev.parley.api.usage.UsagePage;
import dev.parley.api.usage.UsageQuery;
import dev.parley.api.usage.UsageRecord;
import dev.parley.api.usage.UsageStore;
import dev.parley.api.usage.UsageTotals;
import java.math.BigDecimal;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A usage store for the edge's tests: remembers each query and answers with the records it was given. */
final class RecordingUsageStore implements UsageStore {
    final List<UsageQuery> queries = new CopyOnWriteArrayList<>();
    volatile List<UsageRecord> records = List.of();

    @Override
    public void recordAll(List<UsageRecord> batch) {
        throw new UnsupportedOperationException("the REST edge only reads usage");
    }

    @Override
    public UsagePage find(UsageQuery query) {
        queries.add(query);
        List<UsageRecord> all = records;
        BigDecimal cost = BigDecimal.ZERO;
        long in = 0;
        long out = 0;
        long cached = 0;
        for (UsageRecord r : all) {
            in += r.promptTokens();
            out += r.completionTokens();
            cached += r.cachedPromptTokens();
            cost = r.costUsd() == null ? cost : cost.add(r.costUsd());
        }
        List<UsageRecord> page = all.subList(Math.min(query.offset(), all.size()),
                Math.min(query.offset() + query.limit(), all.size()));
        return new UsagePage(page, query.offset(), query.limit(), all.size(),
                new UsageTotals(all.size(), in, out, cached, cost));
    }
}
