package dev.parley.launcher;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Framework-level settings, read from environment variables. Everything a component can be told through
 * Configuration Admin is handled by the dev.parley.config bundle instead; this covers only what must be
 * known before the framework starts (ports, directories).
 */
record Settings(String httpHost, int httpPort, Path dataDir, Path configDir, int shutdownTimeoutSeconds) {

    static Settings from(Map<String, String> env) {
        return new Settings(
                env.getOrDefault("PARLEY_HTTP_HOST", "127.0.0.1"),
                port(env.getOrDefault("PARLEY_HTTP_PORT", "8080")),
                Path.of(env.getOrDefault("PARLEY_DATA_DIR", "data")).toAbsolutePath().normalize(),
                Path.of(env.getOrDefault("PARLEY_CONFIG_DIR", "config")).toAbsolutePath().normalize(),
                positive("PARLEY_SHUTDOWN_TIMEOUT_SECONDS", env.getOrDefault("PARLEY_SHUTDOWN_TIMEOUT_SECONDS", "30")));
    }

    private static int port(String value) {
        int port = integer("PARLEY_HTTP_PORT", value);
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("PARLEY_HTTP_PORT must be between 0 and 65535, got " + value);
        }
        return port;
    }

    private static int positive(String name, String value) {
        int n = integer(name, value);
        if (n <= 0) {
            throw new IllegalArgumentException(name + " must be positive, got " + value);
        }
        return n;
    }

    private static int integer(String name, String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, got '" + value + "'");
        }
    }

    /** The OSGi framework properties these settings imply. */
    Map<String, String> frameworkProperties() {
        var props = new HashMap<String, String>();
        props.put("org.osgi.framework.storage", dataDir.resolve("felix-cache").toString());
        // The cache is kept between starts (installed bundles are not copied and parsed again); the launcher brings it
        // in line with the bundles it ships (BundleSet). Configuration Admin keeps configurations in memory only: each
        // start applies them again from the environment and config/*.json, as with a fresh cache.
        props.put("felix.cm.pm", "memory");
        props.put("org.osgi.framework.bsnversion", "multiple");
        // Start at level 1; the launcher raises it once every bundle has its own level.
        props.put("org.osgi.framework.startlevel.beginning", "1");
        // Plugins installed at run time stop before core on shutdown, like the providers that ship.
        props.put("parley.plugin.startlevel", Integer.toString(Main.LEVEL_PLUGINS));
        // Every shipped bundle has started at this level; dev.parley.config starts the REST whiteboard then, so that
        // it builds its Jersey application once, with every resource, instead of once per batch of resources.
        props.put("parley.startlevel.ready", Integer.toString(Main.LEVEL_WEB));
        props.put("org.osgi.service.http.port", Integer.toString(httpPort));
        props.put("org.apache.felix.http.host", httpHost);
        props.put("org.apache.felix.http.enable", "true");
        props.put("org.apache.felix.jakarta.websocket.enable", "true");
        props.put("parley.shutdown.timeout.seconds", Integer.toString(shutdownTimeoutSeconds));
        props.put("org.apache.felix.http.name", "parley");
        props.put("parley.data.dir", dataDir.toString());
        props.put("parley.config.dir", configDir.toString());
        props.put("felix.shutdown.hook", "false");
        // Event Admin keeps every pool thread it ever started (20 by default, half for asynchronous delivery); the
        // framework's own events during start-up grew it to ten idle threads. Parley posts one event per finished turn
        // and no shipped bundle handles it.
        props.put("org.apache.felix.eventadmin.ThreadPoolSize", "4");
        return props;
    }
}
