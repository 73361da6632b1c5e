package dev.parley.api.stream;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Writes one stream's log. Calls come from one producer at a time and never overlap. Each entry's {@code durable}
 * callback runs once the entry is in the log (or the log failed to take it: the stream is then not resumable past
 * that entry), in the order the entries were appended, so a producer that sends an entry to its client only from
 * {@code durable} never sends a client what the log lacks.
 */
@ProviderType
public interface StreamWriter {
    /** Appends the next entry (its seq is the previous one's plus one, from 1). */
    void append(String type, String data, Runnable durable);

    /** Appends the last entry: followers get it, then {@link StreamFollower#onEnd}. Later appends are ignored. */
    void end(String type, String data, Runnable durable);
}
