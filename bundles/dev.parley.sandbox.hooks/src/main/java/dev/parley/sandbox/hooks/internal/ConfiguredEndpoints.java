package dev.parley.sandbox.hooks.internal;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.framework.Bundle;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.cm.ConfigurationEvent;
import org.osgi.service.cm.ConfigurationListener;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * Endpoints an admin configured for a plugin: the {@code baseUrl} and {@code endpoint} of the configurations of its
 * components (an OpenAI-compatible server, an Anthropic gateway, a Bedrock endpoint, a tenant's own instance). The
 * run-time network check grants them besides the plugin's declared targets (ADR 30): the admin who points a plugin at
 * a host grants it that host. Plugins never see Configuration Admin, so only the platform writes these. Not an exact
 * grant: Parley's own port still needs a declared target naming it.
 */
@Component(service = ConfigurationListener.class, immediate = true)
public final class ConfiguredEndpoints implements ConfigurationListener {
    static final List<String> KEYS = List.of("baseUrl", "endpoint");

    private final Policy policy;
    private final ServiceComponentRuntime components;
    private final ConfigurationAdmin configurations;
    private final Map<String, List<PluginGrants.HostPort>> cache = new ConcurrentHashMap<>();

    @Activate
    public ConfiguredEndpoints(@Reference Policy policy, @Reference ServiceComponentRuntime components,
            @Reference ConfigurationAdmin configurations) {
        this.policy = policy;
        this.components = components;
        this.configurations = configurations;
        policy.endpoints((java.util.function.Function<Bundle, List<PluginGrants.HostPort>>) this::of);
    }

    @Deactivate
    void deactivate() {
        policy.endpoints((java.util.function.Function<Bundle, List<PluginGrants.HostPort>>) null);
    }

    @Override
    public void configurationEvent(ConfigurationEvent event) {
        cache.clear();
    }

    /** The endpoints configured for {@code plugin}'s components, as exact host:port targets. */
    List<PluginGrants.HostPort> of(Bundle plugin) {
        // Keyed by revision too: an updated plugin may have other components.
        return cache.computeIfAbsent(plugin.getBundleId() + "@" + plugin.getLastModified(), k -> read(plugin));
    }

    private List<PluginGrants.HostPort> read(Bundle plugin) {
        List<PluginGrants.HostPort> endpoints = new ArrayList<>();
        for (ComponentDescriptionDTO d : components.getComponentDescriptionDTOs(plugin)) {
            for (String pid : d.configurationPid == null ? new String[0] : d.configurationPid) {
                Configuration[] found;
                try {
                    found = configurations.listConfigurations("(|(service.pid=" + escape(pid) + ")(service.factoryPid="
                            + escape(pid) + "))");
                } catch (IOException | InvalidSyntaxException e) {
                    continue;
                }
                for (Configuration c : found == null ? new Configuration[0] : found) {
                    Dictionary<String, Object> props = c.getProperties();
                    for (String key : KEYS) {
                        Object value = props == null ? null : props.get(key);
                        PluginGrants.HostPort hp = value == null ? null : endpoint(String.valueOf(value));
                        if (hp != null) {
                            endpoints.add(hp);
                        }
                    }
                }
            }
        }
        return List.copyOf(endpoints);
    }

    /** {@code http://host:port/path} → host:port (80 or 443 by default); {@code host:port} as it is; else null. */
    static PluginGrants.HostPort endpoint(String value) {
        String v = value.strip();
        if (v.isEmpty()) {
            return null;
        }
        try {
            URI uri = URI.create(v.contains("://") ? v : "http://" + v);
            if (uri.getHost() == null) {
                return null;
            }
            String scheme = String.valueOf(uri.getScheme()).toLowerCase(Locale.ROOT);
            int port = uri.getPort() > 0 ? uri.getPort() : scheme.equals("https") || scheme.equals("wss") ? 443 : 80;
            return PluginGrants.parse("network;target=\"" + uri.getHost() + ":" + port + "\"").network().stream()
                    .findFirst().map(h -> new PluginGrants.HostPort(h.host(), h.port(), h.hostPattern(), false))
                    .orElse(null);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace("*", "\\*");
    }
}
