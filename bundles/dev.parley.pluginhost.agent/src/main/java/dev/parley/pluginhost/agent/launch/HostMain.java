package dev.parley.pluginhost.agent.launch;

import dev.parley.pluginhost.agent.rpc.Protocol;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.ServiceLoader;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;

/**
 * The plugin host's main class (ADR 31): starts a minimal framework (the Felix framework on the class path, then the
 * bundles the configuration file lists: Configuration Admin, the sandbox's hooks, SCR and what they need, the Parley API
 * and this agent, started in that order; then the plugin, installed but not started: the agent starts it once the
 * plugin's and the sandbox's configurations from the server are in force, so the plugin neither resolves under the
 * hooks' defaults nor activates with its own), and ends the process when the framework stops (the agent stops it when the server's connection ends).
 *
 * <p>The configuration file is named by the environment variable {@link Protocol#CONFIG_ENV}, never on the command
 * line (it holds the connection's secret); the server writes it readable by its own user only, and the agent deletes
 * it once it has read it.
 */
public final class HostMain {
    private HostMain() {
    }

    public static void main(String[] args) throws IOException, BundleException, InterruptedException {
        String configFile = System.getenv(Protocol.CONFIG_ENV);
        if (configFile == null || configFile.isBlank()) {
            System.err.println("event=plugin_host_no_config hint=\"" + Protocol.CONFIG_ENV + " names no file\"");
            System.exit(64);
        }
        Path config = Path.of(configFile);
        Properties settings = new Properties();
        try (InputStream in = Files.newInputStream(config)) {
            settings.load(in);
        }
        Map<String, String> properties = new HashMap<>();
        properties.put("org.osgi.framework.storage", settings.getProperty("storage"));
        properties.put("org.osgi.framework.storage.clean", "onFirstInit");
        properties.put(Protocol.CONFIG_PROPERTY, config.toString());
        String plugin = settings.getProperty("plugin", "");
        String pluginLocation = plugin.isBlank() ? null : Path.of(plugin).toUri().toString();
        if (pluginLocation != null) {
            properties.put(Protocol.PLUGIN_PROPERTY, pluginLocation);
        }
        // The plugin's settings (its secrets among them) live in memory only: the server holds them at rest.
        properties.put("felix.cm.pm", "memory");
        // What the server hands its sandbox hooks here: its directories and HTTP port, protected from the plugin.
        for (String key : settings.stringPropertyNames()) {
            if (key.startsWith(Protocol.FRAMEWORK_PROPERTY_PREFIX)) {
                properties.put(key.substring(Protocol.FRAMEWORK_PROPERTY_PREFIX.length()), settings.getProperty(key));
            }
        }
        Framework framework = ServiceLoader.load(FrameworkFactory.class).iterator().next().newFramework(properties);
        framework.start();
        List<Bundle> bundles = new ArrayList<>();
        for (String path : settings.getProperty("bundles", "").split(File.pathSeparator)) {
            if (!path.isBlank()) {
                bundles.add(framework.getBundleContext().installBundle(Path.of(path).toUri().toString()));
            }
        }
        if (pluginLocation != null) {
            // Installed only: installing resolves nothing, and nothing here starts it but the agent (ADR 31).
            framework.getBundleContext().installBundle(pluginLocation);
        }
        for (Bundle b : bundles) {
            if (b.getHeaders().get("Fragment-Host") == null) {
                b.start();
            }
        }
        System.out.println("event=plugin_host_started bundles=" + bundles.size());
        framework.waitForStop(0);
        System.out.println("event=plugin_host_stopped");
        System.exit(0);
    }
}
