package dev.parley.api.plugin;

/** The kinds of capability a plugin adds. */
public enum PluginType {
    PROVIDER, EMBEDDING, VECTOR_STORE, TOOL, AGENT, ANALYTICS
}
