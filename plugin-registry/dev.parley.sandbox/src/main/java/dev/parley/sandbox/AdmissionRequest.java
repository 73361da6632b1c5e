package dev.parley.sandbox;

import dev.parley.registry.PluginDescriptor;

/**
 * What admission needs to know about a plugin jar besides its bytes.
 *
 * @param descriptor          the jar's descriptor as the registry read it
 * @param publisherRegistered whether the registry knows the publisher (an admin added its key); the distribution's
 *                            own publisher counts as registered
 * @param owner               the publisher the plugin id belongs to ({@code PluginRegistry#owner}), null if unknown
 * @param scan                true: scan the bytecode whatever the tier (dry-run, install, upgrade: the admin sees
 *                            what is reported); false: only when the tier refuses something (a node re-installing
 *                            what was admitted before, e.g. at start)
 */
public record AdmissionRequest(PluginDescriptor descriptor, boolean publisherRegistered, String owner, boolean scan) {
}
