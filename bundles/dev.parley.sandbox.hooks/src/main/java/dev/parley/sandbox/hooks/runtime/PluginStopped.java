package dev.parley.sandbox.hooks.runtime;

/**
 * Thrown into a stopped plugin's code at the next turn of a loop it is in (ADR 30): the plugin was stopped (quarantined,
 * uninstalled, upgraded or the server is stopping) and its code may not run on. An {@link Error}, so that a plugin's
 * {@code catch (Exception e)} does not swallow it; a loop that catches it anyway gets it again at its next turn.
 */
public final class PluginStopped extends Error {
    private static final long serialVersionUID = 1L;

    public PluginStopped(String message) {
        super(message, null, false, false);
    }
}
