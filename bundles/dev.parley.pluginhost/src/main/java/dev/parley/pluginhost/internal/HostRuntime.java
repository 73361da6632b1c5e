package dev.parley.pluginhost.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.osgi.framework.Bundle;

/**
 * The files a plugin host runs, copied out of this bundle ({@code host/}) into its data area: the Felix framework
 * and the agent on the class path, and the bundles the host installs before the plugin, in order.
 */
record HostRuntime(Path framework, Path agent, List<Path> bundles) {
    /** The bundles before the plugin, in install order. */
    private static final List<String> BUNDLES = List.of("org.osgi.util.function.jar", "org.osgi.util.promise.jar",
            "org.osgi.service.component.jar", "org.osgi.service.cm.jar", "asm.jar", "asm-tree.jar",
            // The sandbox's hooks start before anything that could be a plugin resolves (ADR 29, ADR 30): the plugin's
            // classes are woven and its services, bundles and wiring confined in the host as in the server.
            // Configuration Admin (in memory only) carries the plugin's settings from the server's (ADR 31).
            "org.apache.felix.configadmin.jar", "dev.parley.sandbox.hooks.jar", "org.apache.felix.scr.jar",
            "dev.parley.api.jar",
            "dev.parley.pluginhost.agent.jar");

    static HostRuntime extract(Bundle self, Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> names = new ArrayList<>(BUNDLES);
        names.add("org.apache.felix.framework.jar");
        for (String name : names) {
            URL entry = self.getEntry("host/" + name);
            if (entry == null) {
                throw new IOException("this bundle lacks host/" + name);
            }
            try (InputStream in = entry.openStream()) {
                Files.copy(in, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return new HostRuntime(dir.resolve("org.apache.felix.framework.jar"),
                dir.resolve("dev.parley.pluginhost.agent.jar"), BUNDLES.stream().map(dir::resolve).toList());
    }
}
