package dev.parley.pluginhost;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Runs plugins out of process (ADR 31). A plugin runs in a plugin host when its <em>stand-in</em> is started in the
 * server's framework: a bundle with the plugin's symbolic name, version and {@code Parley-Plugin} header, no code,
 * the plugin's jar embedded at {@link #JAR_ENTRY} and the host's limits in {@link #HEADER}. While the stand-in is
 * active a host JVM runs the jar, and each provider the plugin registers there is registered here, by the stand-in,
 * as a proxy: the router, the plugin guard, quarantine and provider-id ownership see the plugin as if it ran here.
 * Stopping or uninstalling the stand-in stops the host.
 */
@ProviderType
public interface PluginHosts {
    /** Manifest header of a stand-in: the host's limits ({@link HostLimits#header()}). */
    String HEADER = "Parley-Plugin-Host";
    /** Where a stand-in holds the plugin's jar. */
    String JAR_ENTRY = "OSGI-INF/parley/plugin.jar";

    /** The stand-in bundle for {@code pluginJar} run with {@code limits}; install and start it to run the plugin. */
    byte[] standIn(byte[] pluginJar, HostLimits limits);

    /** Every host this node supervises. */
    List<HostStatus> hosts();

    /** The host of one stand-in bundle. */
    Optional<HostStatus> host(long bundleId);
}
