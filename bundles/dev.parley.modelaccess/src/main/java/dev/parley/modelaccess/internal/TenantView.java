package dev.parley.modelaccess.internal;

import dev.parley.api.routing.ModelAccess.TenantModels;
import java.util.Map;
import java.util.Set;

/**
 * One tenant's view, immutable: the plugins the operator does not let it use and its admin's settings. The provider's
 * plugin is looked up when asked, in the live map of running providers, so a provider that starts later is covered.
 */
final class TenantView implements TenantModels {
    private final Set<String> deniedPlugins;
    private final TenantSettings settings;
    private final ProviderPlugins plugins;
    private final boolean unrestricted;

    TenantView(Set<String> deniedPlugins, TenantSettings settings, ProviderPlugins plugins) {
        this.deniedPlugins = Set.copyOf(deniedPlugins);
        this.settings = settings;
        this.plugins = plugins;
        this.unrestricted = this.deniedPlugins.isEmpty() && settings.isDefault();
    }

    @Override
    public boolean unrestricted() {
        return unrestricted;
    }

    @Override
    public boolean allowsName(String name) {
        if (unrestricted) {
            return true;
        }
        Boolean set = settings.models().get(name);
        return set != null ? set : settings.defaultEnabled();
    }

    @Override
    public boolean allowsTarget(String providerId, String modelId) {
        if (unrestricted) {
            return true;
        }
        if (!pluginAllowed(providerId)) {
            return false;
        }
        Map<String, Boolean> models = settings.models();
        Boolean set = models.isEmpty() ? null : models.get(providerId + "/" + modelId);
        if (set == null && !models.isEmpty()) {
            set = models.get(modelId);
        }
        return set != null ? set : settings.defaultEnabled();
    }

    @Override
    public boolean allowsPlugin(String pluginId) {
        return pluginId == null || !deniedPlugins.contains(pluginId);
    }

    /** Whether the operator lets this tenant use the plugin of {@code providerId} (one without a plugin: yes). */
    boolean pluginAllowed(String providerId) {
        if (deniedPlugins.isEmpty()) {
            return true;
        }
        String plugin = plugins.pluginOf(providerId);
        return plugin == null || !deniedPlugins.contains(plugin);
    }

    TenantSettings settings() {
        return settings;
    }

    @Override
    public String toString() {
        return "TenantView[tenant=" + settings.tenantId() + ", deniedPlugins=" + deniedPlugins + ", default="
                + settings.defaultEnabled() + ", models=" + settings.models().size() + "]";
    }
}
