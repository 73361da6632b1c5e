package dev.parley.plugins.internal;

import dev.parley.api.plugin.PluginGuardEvents;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventConstants;
import org.osgi.service.event.EventHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hears core's call guard quarantine a plugin on this node ({@link PluginGuardEvents#QUARANTINE}) and has the plugin
 * runtime stop it, hold it with the reason and report it (ADR 28). Core decides (it sees the calls); this runtime acts
 * (it owns the bundles and their durable state). Event Admin delivers it asynchronously, so neither waits for the
 * other.
 */
@Component(property = EventConstants.EVENT_TOPIC + "=" + PluginGuardEvents.QUARANTINE)
public class PluginQuarantine implements EventHandler {
    private static final Logger LOG = LoggerFactory.getLogger(PluginQuarantine.class);

    private final PluginOperations operations;

    @Activate
    public PluginQuarantine(@Reference PluginOperations operations) {
        this.operations = operations;
    }

    @Override
    public void handleEvent(Event event) {
        Object plugin = event.getProperty(PluginGuardEvents.PLUGIN_ID);
        Object bundle = event.getProperty(PluginGuardEvents.BUNDLE_ID);
        Object reason = event.getProperty(PluginGuardEvents.REASON);
        if (!(plugin instanceof String pluginId) || pluginId.isBlank()) {
            LOG.warn("event=plugin_quarantine_ignored hint=\"the event names no plugin\"");
            return;
        }
        long bundleId = bundle instanceof Number n ? n.longValue() : -1;
        operations.quarantineLater(pluginId, bundleId, reason == null ? "no reason given" : reason.toString());
    }
}
