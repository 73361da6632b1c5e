package dev.parley.sandbox.hooks.runtime;

import org.osgi.annotation.versioning.ProviderType;

/** The sandbox's decisions for woven call sites; implemented by the sandbox bundle only. */
@ProviderType
public interface CallChecks {
    /**
     * Returns when the plugin that {@code token} stands for may make the call, or when its tier only reports.
     *
     * @param kind   what is checked
     * @param target what the call reaches (a path, an address, a member, ...), or null
     * @param detail more about it (open options, a member's name), or null
     * @param call   the JDK method called, e.g. {@code java.lang.System.exit}
     * @param token  the plugin's token, woven into its classes
     * @throws SecurityException naming the plugin, the rule and the target, when refused
     */
    void check(CheckKind kind, Object target, Object detail, String call, String token);

    /**
     * Asked at each turn of a loop in a plugin's classes while {@link PluginChecks#stopping(boolean)} is on: returns
     * when the plugin that {@code token} stands for may run on, and throws {@link PluginStopped} when it was stopped.
     * The default lets every plugin run on.
     *
     * @param token the plugin's token, woven into its classes
     * @throws PluginStopped when the plugin is stopped
     */
    default void loop(String token) {
    }
}
