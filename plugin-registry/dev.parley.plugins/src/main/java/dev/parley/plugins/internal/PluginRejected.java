package dev.parley.plugins.internal;

/** A plugin step refused or undone, with the reason an admin reads; nothing of the new version is left installed. */
class PluginRejected extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PluginRejected(String message) {
        super(message);
    }

    PluginRejected(String message, Throwable cause) {
        super(message, cause);
    }
}
