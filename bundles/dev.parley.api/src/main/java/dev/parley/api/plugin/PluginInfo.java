package dev.parley.api.plugin;

import java.util.Objects;

/**
 * What a plugin declares in its {@value #HEADER} manifest header, e.g.
 * {@code Parley-Plugin: openai;type=provider;name="OpenAI-compatible";publisher=parley}.
 *
 * @param version the plugin's Bundle-Version
 */
public record PluginInfo(String id, PluginType type, String displayName, String description, String publisher, String version) {
    /** The manifest header every Parley plugin carries. */
    public static final String HEADER = "Parley-Plugin";

    /**
     * The start of the location of every bundle the plugin runtime installs: {@code parley-plugin:<id>@<version>}.
     * The framework treats such a bundle as a plugin (confined, ADR 29) whatever its manifest says.
     *
     * @since 1.1
     */
    public static final String LOCATION_PREFIX = "parley-plugin:";

    public PluginInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(type, "type");
    }
}
