package dev.parley.config.internal;

import java.io.IOException;
import java.lang.reflect.Array;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.FrameworkListener;
import org.osgi.framework.startlevel.FrameworkStartLevel;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands the configurations computed by {@link ConfigurationSources} to Configuration Admin at start-up.
 * The configuration directory is the framework property {@code parley.config.dir} (default {@code config}). It also
 * hands generated values to their PIDs: the admin token and this process's node id ({@link NodeIdentity}).
 *
 * <p>The REST whiteboard's own configuration is applied last, once the framework has reached the start level in
 * the framework property {@code parley.startlevel.ready} (the launcher sets it to the level of the web bundles):
 * the whiteboard rebuilds its whole Jersey application for every batch of resources that arrives more than 50 ms
 * after the previous one, so a whiteboard that starts before the resources are registered builds it several times
 * during start-up. Started after them, it finds every resource at once and builds it once. Without the property
 * (the in-framework tests) the configuration is applied at once.
 */
@Component(immediate = true)
public class StartupConfiguration {
    private static final Logger LOG = LoggerFactory.getLogger(StartupConfiguration.class);
    static final String READY_LEVEL_PROPERTY = "parley.startlevel.ready";

    private final BundleContext context;
    private final FrameworkListener applyWhenReady;

    @Activate
    public StartupConfiguration(BundleContext context, @Reference ConfigurationAdmin configurationAdmin) {
        this.context = context;
        String dir = Objects.requireNonNullElse(context.getProperty("parley.config.dir"), "config");
        var result = new ConfigurationSources().compute(Path.of(dir), System.getenv());
        String distribution = context.getProperty("parley.distribution");
        ConfigurationSources.distributionDefaults(distribution, result.configurations());
        Map<String, Object> rest = result.configurations().computeIfAbsent(ConfigurationSources.REST_PID,
                k -> new java.util.LinkedHashMap<>());
        Path dataDir = Path.of(Objects.requireNonNullElse(context.getProperty("parley.data.dir"), "data"));
        if (rest.get(ConfigurationSources.ADMIN_TOKEN_KEY) == null) {
            rest.put(ConfigurationSources.ADMIN_TOKEN_KEY, AdminToken.readOrCreate(dataDir.resolve(AdminToken.FILE_NAME)));
        }
        // A PID that no file or variable configures gets the node id added to what it has (e.g. settings an admin
        // made through Configuration Admin), instead of a configuration holding the node id only.
        Set<String> addTo = NodeIdentity.PIDS.stream().filter(pid -> !result.configurations().containsKey(pid))
                .collect(Collectors.toCollection(java.util.HashSet::new));
        // The sign-in component requires its configuration (so that it never starts before the environment's
        // bootstrap password is known): give it one even when nothing sets a value, keeping what an admin set.
        if (!result.configurations().containsKey(ConfigurationSources.IDENTITY_PID)) {
            result.configurations().put(ConfigurationSources.IDENTITY_PID, new java.util.LinkedHashMap<>());
            addTo.add(ConfigurationSources.IDENTITY_PID);
        }
        String nodeId = NodeIdentity.handOver(result.configurations(), dataDir.resolve(NodeIdentity.FILE_NAME));
        LOG.info("node id={} pids={} distribution={}", nodeId, NodeIdentity.PIDS,
                distribution == null ? "all-in-one" : distribution);
        result.problems().forEach(p -> LOG.error("config file ignored file={} reason=\"{}\"", p.file(), p.reason()));
        Map<String, Object> whiteboard = result.configurations().remove(ConfigurationSources.REST_WHITEBOARD_PID);
        result.configurations().forEach((pid, props) -> apply(configurationAdmin, pid, props, addTo.contains(pid)));
        if (!"worker".equals(distribution) && !result.configurations().containsKey(ConfigurationSources.OPENAI_PID)
                && !result.configurations().containsKey(ConfigurationSources.OLLAMA_DEFAULT_PID)
                && !result.configurations().containsKey(ConfigurationSources.GEMINI_PID)
                && !result.configurations().containsKey(ConfigurationSources.BEDROCK_DEFAULT_PID)
                && !result.configurations().containsKey(ConfigurationSources.ANTHROPIC_PID)
                && !result.configurations().containsKey(ConfigurationSources.MISTRAL_PID)
                && !result.configurations().containsKey(ConfigurationSources.AZURE_OPENAI_PID)) {
            LOG.warn("no model provider configured: chat runs in offline mode until OPENAI_API_KEY or OPENAI_BASE_URL "
                    + "is set (or a provider plugin's variables: ANTHROPIC_API_KEY, AZURE_OPENAI_ENDPOINT, GEMINI_API_KEY, "
                    + "MISTRAL_API_KEY, OLLAMA_BASE_URL, PARLEY_BEDROCK_REGION)");
        }
        int readyLevel = readyLevel(context.getProperty(READY_LEVEL_PROPERTY));
        var once = new AtomicBoolean();
        Runnable applyWhiteboard = () -> {
            if (once.compareAndSet(false, true)) {
                apply(configurationAdmin, ConfigurationSources.REST_WHITEBOARD_PID, whiteboard, false);
            }
        };
        applyWhenReady = event -> {
            if ((event.getType() == FrameworkEvent.STARTLEVEL_CHANGED || event.getType() == FrameworkEvent.STARTED)
                    && reached(context, readyLevel)) {
                applyWhiteboard.run();
            }
        };
        context.addFrameworkListener(applyWhenReady);
        if (reached(context, readyLevel)) {
            applyWhiteboard.run();
        }
    }

    @Deactivate
    void deactivate() {
        context.removeFrameworkListener(applyWhenReady);
    }

    static int readyLevel(String property) {
        if (property == null || property.isBlank()) {
            return 0;
        }
        try {
            return Integer.parseInt(property.trim());
        } catch (NumberFormatException e) {
            LOG.warn("ignored {}={}: not a start level", READY_LEVEL_PROPERTY, property);
            return 0;
        }
    }

    private static boolean reached(BundleContext context, int level) {
        return level <= 0
                || context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION).adapt(FrameworkStartLevel.class).getStartLevel() >= level;
    }

    static void apply(ConfigurationAdmin admin, String pid, Map<String, Object> props, boolean addToCurrent) {
        try {
            String[] factory = ConfigurationSources.factoryInstance(pid);
            Configuration config = factory == null ? admin.getConfiguration(pid, "?")
                    : admin.getFactoryConfiguration(factory[0], factory[1], "?");
            Dictionary<String, Object> current = config.getProperties();
            if (current != null && sameValues(current, props)) {
                return;
            }
            var updated = new Hashtable<String, Object>();
            if (addToCurrent && current != null) {
                for (var keys = current.keys(); keys.hasMoreElements();) {
                    String key = keys.nextElement();
                    if (!key.equals("service.pid") && !key.equals("service.factoryPid")
                            && !key.equals("service.bundleLocation")) {
                        updated.put(key, current.get(key));
                    }
                }
            }
            updated.putAll(props);
            config.update(updated);
            LOG.info("configuration applied pid={} keys={}", pid, props.keySet());
        } catch (IOException e) {
            LOG.error("configuration not applied pid={} reason=\"{}\"", pid, e.getMessage());
        }
    }

    private static boolean sameValues(Dictionary<String, Object> current, Map<String, Object> wanted) {
        for (var e : wanted.entrySet()) {
            Object have = current.get(e.getKey());
            if (have == null || !deepEquals(have, e.getValue())) {
                return false;
            }
        }
        return true;
    }

    private static boolean deepEquals(Object a, Object b) {
        if (a.getClass().isArray() && b.getClass().isArray()) {
            int n = Array.getLength(a);
            if (n != Array.getLength(b)) {
                return false;
            }
            for (int i = 0; i < n; i++) {
                if (!Objects.equals(Array.get(a, i), Array.get(b, i))) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }
}
