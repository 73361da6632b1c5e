package dev.parley.core.internal;

/** What the readiness check needs to know about the chat service; registered only inside this bundle's wiring. */
public interface CoreStatus {
    /** Active and not draining. */
    boolean accepting();

    int providerCount();

    int modelCount();

    int turnsInFlight();

    /** Plugins quarantined on this node by the plugin call guard, with the reason. */
    default java.util.Map<String, String> quarantinedPlugins() {
        return java.util.Map.of();
    }
}
