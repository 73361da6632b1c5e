package dev.parley.identity.apikeys.internal;

import java.util.List;

/** One page of keys and how many match in all. */
record KeyPage(List<StoredKey> keys, long total, int offset, int limit) {
    KeyPage {
        keys = List.copyOf(keys);
    }
}
