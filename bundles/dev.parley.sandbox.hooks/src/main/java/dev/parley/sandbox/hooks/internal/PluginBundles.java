package dev.parley.sandbox.hooks.internal;

import dev.parley.api.plugin.PluginInfo;
import dev.parley.sandbox.hooks.Confinement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.BundleException;
import org.osgi.framework.SynchronousBundleListener;

/**
 * Which bundles are plugins, and what the sandbox refused each. A bundle is a plugin (confined) when the plugin runtime
 * installed it ({@link PluginInfo#LOCATION_PREFIX}), when it carries a {@link PluginInfo#HEADER} header, or when a
 * plugin installed it. The answer is cached per bundle id (every hook call asks) and dropped when the bundle is
 * updated or uninstalled.
 *
 * <p>A bundle that a plugin installs through its own bundle context is uninstalled again before
 * {@code installBundle} returns (this listener is synchronous): plugins get no code into the framework that way. The
 * runtime installs plugins from its own context, which is not a plugin's.
 */
final class PluginBundles implements Confinement, SynchronousBundleListener {
    /** Most refusals kept per bundle: the first ones say why it did not resolve; later ones repeat them. */
    static final int MAX_REFUSALS = 20;

    /**
     * What a bundle is: a plugin (with its plugin id and its publisher, each null when it has none) or a platform
     * bundle.
     */
    record Kind(boolean plugin, String pluginId, String publisher) {
        static final Kind PLATFORM = new Kind(false, null, null);

        Kind(boolean plugin, String pluginId) {
            this(plugin, pluginId, null);
        }
    }

    private final Map<Long, Kind> known = new ConcurrentHashMap<>();
    /** Bundles a plugin installed, until they are gone: confined whatever their location and headers say. */
    private final Map<Long, Kind> installedByPlugins = new ConcurrentHashMap<>();
    private final Map<Long, Set<String>> refusals = new ConcurrentHashMap<>();
    private final Map<Long, Map<String, LongAdder>> calls = new ConcurrentHashMap<>();

    @Override
    public boolean confined(Bundle bundle) {
        return kind(bundle).plugin();
    }

    /** The plugin id of a confined bundle; null for a plugin without one and for a platform bundle. */
    String pluginId(Bundle bundle) {
        return kind(bundle).pluginId();
    }

    Kind kind(Bundle bundle) {
        if (bundle == null || bundle.getBundleId() == 0) {
            return Kind.PLATFORM;
        }
        Kind cached = known.get(bundle.getBundleId());
        if (cached != null) {
            return cached;
        }
        Kind found = identify(bundle);
        if (bundle.getState() != Bundle.UNINSTALLED) {
            known.put(bundle.getBundleId(), found); // an uninstalled bundle is not remembered: its id never comes back
        }
        return found;
    }

    private Kind identify(Bundle bundle) {
        Kind installer = installedByPlugins.get(bundle.getBundleId());
        if (installer != null) {
            return installer;
        }
        String location = bundle.getLocation();
        String header;
        try {
            header = bundle.getHeaders("").get(PluginInfo.HEADER);
        } catch (IllegalStateException e) {
            header = null; // uninstalled meanwhile
        }
        String publisher = header == null ? null : publisherOfHeader(header);
        if (location != null && location.startsWith(PluginInfo.LOCATION_PREFIX)) {
            return new Kind(true, pluginIdOfLocation(location), publisher);
        }
        return header == null ? Kind.PLATFORM : new Kind(true, pluginIdOfHeader(header), publisher);
    }

    /** {@code parley-plugin:<id>@<version>} → {@code <id>}; null when there is no id. */
    static String pluginIdOfLocation(String location) {
        String rest = location.substring(PluginInfo.LOCATION_PREFIX.length());
        int at = rest.lastIndexOf('@');
        String id = (at >= 0 ? rest.substring(0, at) : rest).strip();
        return id.isEmpty() ? null : id;
    }

    /** {@code <id>;type=…} → {@code <id>}; null when there is no id. */
    static String pluginIdOfHeader(String header) {
        String id = header.split("[;,]", 2)[0].strip();
        return id.isEmpty() ? null : id;
    }

    /**
     * The {@code publisher} attribute of a {@code Parley-Plugin} header ({@code id;type=provider;name="A; B";
     * publisher=acme}); null when it has none. Quoted values may hold separators.
     */
    static String publisherOfHeader(String header) {
        boolean quoted = false;
        int start = 0;
        for (int i = 0; i <= header.length(); i++) {
            char c = i < header.length() ? header.charAt(i) : ';';
            if (c == '"') {
                quoted = !quoted;
            } else if (!quoted && (c == ';' || c == ',')) {
                String part = header.substring(start, i).strip();
                int eq = part.indexOf('=');
                if (eq > 0 && part.substring(0, eq).strip().equals("publisher")) {
                    String v = part.substring(eq + 1).strip();
                    if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
                        v = v.substring(1, v.length() - 1);
                    }
                    return v.isEmpty() ? null : v;
                }
                start = i + 1;
            }
        }
        return null;
    }

    @Override
    public List<String> refusals(Bundle bundle) {
        Set<String> r = bundle == null ? null : refusals.get(bundle.getBundleId());
        if (r == null) {
            return List.of();
        }
        synchronized (r) {
            return List.copyOf(r);
        }
    }

    @Override
    public Map<String, Long> refusedCalls(Bundle bundle) {
        Map<String, LongAdder> c = bundle == null ? null : calls.get(bundle.getBundleId());
        Map<String, Long> out = new TreeMap<>();
        if (c != null) {
            c.forEach((rule, n) -> out.put(rule, n.sum()));
        }
        return out;
    }

    /** Counts a call of {@code bundle}'s code that a run-time check refused (or reported). */
    void countCall(Bundle bundle, String rule) {
        calls.computeIfAbsent(bundle.getBundleId(), id -> new ConcurrentHashMap<>())
                .computeIfAbsent(rule, r -> new LongAdder()).increment();
    }

    /** Records what the sandbox refused {@code bundle}; logged (WARN) the first time. */
    void refuse(Bundle bundle, String what) {
        refuse(bundle, what, false);
    }

    /**
     * Records what the sandbox refused {@code bundle}; logged the first time, at INFO when the plugin does without it
     * (an optional import left unwired: the Bedrock plugin's {@code sun.misc}, at every start).
     */
    void refuse(Bundle bundle, String what, boolean harmless) {
        Set<String> r = refusals.computeIfAbsent(bundle.getBundleId(), id -> Collections.synchronizedSet(
                new LinkedHashSet<>()));
        boolean added;
        synchronized (r) {
            added = r.size() < MAX_REFUSALS && r.add(what);
        }
        if (added && harmless) {
            Log.get().info("event=sandbox_refused bundle={} plugin={} reason=\"{}\"", bundle.getSymbolicName(),
                    pluginIdOrUnknown(bundle), what);
        } else if (added) {
            Log.get().warn("event=sandbox_refused bundle={} plugin={} reason=\"{}\"", bundle.getSymbolicName(),
                    pluginIdOrUnknown(bundle), what);
        }
    }

    private String pluginIdOrUnknown(Bundle bundle) {
        Kind k = kind(bundle);
        return !k.plugin() ? "-" : k.pluginId() == null ? "unknown" : k.pluginId();
    }

    @Override
    public void bundleChanged(BundleEvent event) {
        Bundle bundle = event.getBundle();
        long id = bundle.getBundleId();
        switch (event.getType()) {
            case BundleEvent.INSTALLED -> installed(bundle, event.getOrigin());
            case BundleEvent.UPDATED -> {
                // New headers: the bundle is identified again; what was refused its old revision no longer applies.
                known.remove(id);
                refusals.remove(id);
                calls.remove(id);
            }
            case BundleEvent.UNINSTALLED -> {
                known.remove(id);
                installedByPlugins.remove(id);
                refusals.remove(id);
                calls.remove(id);
            }
            default -> { }
        }
    }

    private void installed(Bundle bundle, Bundle origin) {
        if (origin == null || origin.getBundleId() == bundle.getBundleId()) {
            return;
        }
        Kind installer = kind(origin);
        if (!installer.plugin()) {
            return;
        }
        // Confined from now on, and gone before the plugin gets the bundle back.
        installedByPlugins.put(bundle.getBundleId(), installer);
        known.remove(bundle.getBundleId());
        Log.get().error("event=sandbox_install_refused plugin={} bundle={} location={} hint=\"a plugin may not "
                + "install bundles; the bundle is uninstalled\"", pluginIdOrUnknown(origin),
                bundle.getSymbolicName(), bundle.getLocation());
        refuse(origin, "may not install bundles (tried " + bundle.getLocation() + "); it was uninstalled");
        try {
            bundle.uninstall();
        } catch (BundleException | IllegalStateException e) {
            Log.get().error("event=sandbox_uninstall_failed bundle={} reason=\"{}\"", bundle.getSymbolicName(),
                    e.getMessage());
        }
    }

    /** For tests: the ids of bundles remembered as installed by plugins. */
    List<Long> installedByPlugins() {
        return new ArrayList<>(installedByPlugins.keySet());
    }
}
