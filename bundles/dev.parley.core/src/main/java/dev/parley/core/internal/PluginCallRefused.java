package dev.parley.core.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;

/**
 * The guard's own answer for a call into a plugin that did not give one: refused (the plugin is quarantined or busy),
 * timed out, or failed with something other than a {@link ParleyException}. A {@code ParleyException} the plugin threw
 * itself is passed on as it is, never as this.
 */
final class PluginCallRefused extends ParleyException {
    private static final long serialVersionUID = 1L;

    enum Kind { QUARANTINED, BUSY, TIMED_OUT, FAILED, STOPPED }

    private final Kind kind;

    PluginCallRefused(Kind kind, ErrorCode code, String message, Throwable cause) {
        super(code, message, cause);
        this.kind = kind;
    }

    Kind kind() {
        return kind;
    }
}
