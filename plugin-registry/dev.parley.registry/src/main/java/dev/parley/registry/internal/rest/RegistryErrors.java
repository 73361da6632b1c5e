package dev.parley.registry.internal.rest;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.registry.RegistryException;

/** Where registry failures become Parley's error model (and so HTTP problems in web.rest). */
final class RegistryErrors {
    private RegistryErrors() {
    }

    static ParleyException toParley(RegistryException e) {
        ErrorCode code = switch (e.reason()) {
            // A jar that is not a valid plugin: the request was well-formed, the plugin is refused (422).
            case INVALID_PLUGIN, UNKNOWN_PUBLISHER, BAD_SIGNATURE -> ErrorCode.PLUGIN_REJECTED;
            case ALREADY_PUBLISHED, SHIPPED_DIGEST_CONFLICT -> ErrorCode.CONFLICT;
            // Uploads naming the reserved publisher are refused plugins; registering it is a conflict with the
            // distribution, which owns the id (see AdminRegistryResource).
            case RESERVED_PUBLISHER -> ErrorCode.PLUGIN_REJECTED;
            // Another publisher's upload of an id: refused, like an upload naming the reserved publisher.
            case PLUGIN_ID_TAKEN -> ErrorCode.PLUGIN_REJECTED;
            case NOT_FOUND -> ErrorCode.NOT_FOUND;
            case TOO_LARGE -> ErrorCode.TOO_LARGE;
            // Stored bytes that do not match their digest are the registry's failure, not the caller's.
            case STORAGE, DIGEST_MISMATCH -> ErrorCode.STORE_FAILURE;
        };
        return new ParleyException(code, sentence(e.getMessage()), e);
    }

    static ParleyException invalid(String message) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, message);
    }

    /** Registry messages start with ids (lower case by rule), so they are only given a full stop. */
    private static String sentence(String message) {
        if (message == null || message.isEmpty()) {
            return "The registry refused the request.";
        }
        return message.endsWith(".") ? message : message + ".";
    }
}
