package dev.parley.api.llm;

import org.osgi.annotation.versioning.ProviderType;

/** A running stream. */
@ProviderType
public interface StreamHandle {
    /**
     * Stops the stream as soon as possible. The handler then gets {@code onError} with
     * {@code CANCELLED}, unless the stream had already ended. Calling it twice is harmless.
     */
    void cancel();
}
