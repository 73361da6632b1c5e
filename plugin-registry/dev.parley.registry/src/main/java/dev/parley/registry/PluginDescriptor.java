package dev.parley.registry;

import java.util.List;
import java.util.Map;

/**
 * What a plugin jar says about itself, read from its manifest by {@link PluginDescriptors#read(byte[])}.
 *
 * @param imports        every Import-Package clause: package name → version range ("" when none), optional ones excluded
 * @param apiImports     the {@code dev.parley.api.*} subset of {@code imports}
 * @param apiRange       for display: the range all API imports share, or each package's range
 */
public record PluginDescriptor(
        String id,
        String version,
        String symbolicName,
        String type,
        String displayName,
        String description,
        String publisher,
        Map<String, String> imports,
        Map<String, String> apiImports,
        String apiRange,
        List<Permission> permissions) {
}
