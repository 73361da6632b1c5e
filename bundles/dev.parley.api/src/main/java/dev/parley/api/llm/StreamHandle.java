package dev.parley.api.llm;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A running answer ({@link ChatModelProvider#stream} or {@link ChatModelProvider#complete}). Every provider plugin
 * implements it, so it is a {@link ConsumerType} (since 1.1): a minor release of this package may not add a method
 * to it, and a plugin built against 1.x imports the package as {@code [1.x,2)} instead of being bound to one minor
 * version.
 */
@ConsumerType
public interface StreamHandle {
    /**
     * Stops the stream as soon as possible. The handler then gets {@code onError} with
     * {@code CANCELLED}, unless the stream had already ended. Calling it twice is harmless.
     */
    void cancel();
}
