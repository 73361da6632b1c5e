/**
 * Secrets at rest: provider keys and plugin secret settings are stored sealed (encrypted and authenticated) with a
 * master key the database never sees. A sealed value names the key that sealed it, so the master key can rotate:
 * old keys keep opening what they sealed until everything is sealed again with the new one.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.parley.api.secrets;
