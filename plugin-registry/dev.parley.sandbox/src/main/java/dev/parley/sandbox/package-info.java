/**
 * The plugin sandbox as the platform sees it: the policy of each tier of trust ({@link SandboxPolicies}), the
 * admission of a plugin jar before it is installed ({@link PluginAdmission}, with the bytecode rules of
 * {@link ScanRules} applied by {@link BytecodeScanner}), and upgrades held because they ask for more permissions
 * ({@link HeldUpgrades}). Platform-internal, like {@code dev.parley.registry}: plugins never import this package.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package dev.parley.sandbox;
