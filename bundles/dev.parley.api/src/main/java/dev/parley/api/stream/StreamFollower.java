package dev.parley.api.stream;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Follows one stream's log from a position. Entries come in order, each once, then exactly one of {@link #onEnd},
 * {@link #onProducerGone}, {@link #onNotFound} or {@link #onFailure}. Calls never overlap, and may come from any
 * thread.
 */
@ConsumerType
public interface StreamFollower {
    void onEntry(StreamEntry entry);

    /** The writer ended the stream; its last entry was delivered. */
    void onEnd();

    /**
     * The stream stopped before its end and will not go on: the node writing it is gone, or wrote nothing for
     * longer than the log's idle bound. {@code reason} says which.
     */
    void onProducerGone(String reason);

    /** The log has no such stream: never written, or expired. */
    void onNotFound();

    /** The log cannot be read (e.g. its server is unreachable). */
    void onFailure(String message);
}
