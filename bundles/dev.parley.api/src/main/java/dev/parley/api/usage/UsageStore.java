package dev.parley.api.usage;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/** Where usage records are kept. Writes come in batches, from one writer at a time per node. */
@ProviderType
public interface UsageStore {
    /**
     * Stores {@code records} in one transaction; a record whose id is already stored is skipped, so a batch retried
     * after an unclear failure is not counted twice. Throws a {@link dev.parley.api.error.ParleyException}
     * ({@code STORE_FAILURE}) when the batch could not be stored.
     */
    void recordAll(List<UsageRecord> records);

    /** The records {@code query} matches, newest first, and their totals. */
    UsagePage find(UsageQuery query);
}
