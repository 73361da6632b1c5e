package dev.parley.core.internal;

import dev.parley.api.plugin.PluginInfo;
import org.osgi.framework.Bundle;

/**
 * Which plugin a provider registration comes from, by the bundle that registered it: the plugin id in its location
 * when the plugin runtime installed it ({@code parley-plugin:<id>@<version>}), else the id in its
 * {@code Parley-Plugin} header (a plugin the distribution or the tests run from the start), else
 * {@code bundle:<symbolic name>} for a platform bundle. Two versions of one plugin (an upgrade installed beside the
 * running one) have one origin; two plugins have two.
 */
final class PluginOrigin {
    static final String BUNDLE_PREFIX = "bundle:";

    private PluginOrigin() {
    }

    /** The origin of {@code bundle}; null when there is no bundle (a registration gone meanwhile). */
    static String of(Bundle bundle) {
        if (bundle == null) {
            return null;
        }
        String location = bundle.getLocation();
        if (location != null && location.startsWith(PluginInfo.LOCATION_PREFIX)) {
            String rest = location.substring(PluginInfo.LOCATION_PREFIX.length());
            int at = rest.lastIndexOf('@');
            String id = (at >= 0 ? rest.substring(0, at) : rest).strip();
            if (!id.isEmpty()) {
                return id;
            }
        }
        String header;
        try {
            header = bundle.getHeaders("").get(PluginInfo.HEADER);
        } catch (IllegalStateException e) {
            header = null;
        }
        if (header != null) {
            String id = header.split("[;,]", 2)[0].strip();
            if (!id.isEmpty()) {
                return id;
            }
        }
        return BUNDLE_PREFIX + bundle.getSymbolicName();
    }

    /** Whether {@code origin} is a plugin's (the plugin's uninstallation frees its provider ids). */
    static boolean isPlugin(String origin) {
        return origin != null && !origin.startsWith(BUNDLE_PREFIX);
    }
}
