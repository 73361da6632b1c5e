package dev.parley.registry;

/** Why the registry refused or failed an operation; {@link #reason()} is stable and maps to HTTP statuses at the edge. */
public class RegistryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public enum Reason {
        /** Not a jar, no or malformed Parley-Plugin header, no version, exports packages, … (400/422). */
        INVALID_PLUGIN,
        /** The header names a publisher the registry does not know (422). */
        UNKNOWN_PUBLISHER,
        /** The signature does not verify with the publisher's key (422). */
        BAD_SIGNATURE,
        /** The stored artifact's digest is not the recorded one (502 for downloads, refusal for installs). */
        DIGEST_MISMATCH,
        /** The id+version exists; versions are immutable (409). */
        ALREADY_PUBLISHED,
        /** Unknown plugin id or version (404). */
        NOT_FOUND,
        /** Bigger than the configured limit (413). */
        TOO_LARGE,
        /**
         * The publisher id is reserved for the plugins the server distribution ships: it cannot be registered, and
         * no upload may name it (409 for publishers, 422 for uploads).
         */
        RESERVED_PUBLISHER,
        /**
         * A version the server ships is already in the registry with other bytes (another build of the same
         * version): the shipped copy is not stored and not installed.
         */
        SHIPPED_DIGEST_CONFLICT,
        /**
         * The plugin id belongs to another publisher: the first publisher to publish an id owns it, and no other
         * publisher's upload of that id is accepted, whatever its version (422).
         *
         * @since 1.2
         */
        PLUGIN_ID_TAKEN,
        /** The storage failed (503). */
        STORAGE
    }

    private final Reason reason;

    public RegistryException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public RegistryException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
