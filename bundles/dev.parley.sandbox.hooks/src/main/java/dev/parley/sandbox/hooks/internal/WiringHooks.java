package dev.parley.sandbox.hooks.internal;

import java.util.Collection;
import java.util.Iterator;
import org.osgi.framework.Bundle;
import org.osgi.framework.hooks.resolver.ResolverHook;
import org.osgi.framework.hooks.resolver.ResolverHookFactory;
import org.osgi.framework.namespace.BundleNamespace;
import org.osgi.framework.namespace.HostNamespace;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleRequirement;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.resource.Namespace;

/**
 * What a plugin may wire to (OSGi resolver hook, Core chapter 60). For a plugin's package imports the resolver is
 * offered only exporters that are not plugins and packages its rules allow ({@link Rules#allowsPackage}); a plugin
 * may not require another bundle (Require-Bundle) nor be a fragment of one. The platform never wires to a plugin's
 * exports, so a plugin cannot stand in for an API package. A mandatory import left without a candidate fails the
 * plugin's resolution, and Felix's message names the package; the refusal itself is recorded for the plugin runtime
 * ({@link PluginBundles#refusals}) and logged.
 *
 * <p>Other namespaces (the execution environment, the DS extender, service capabilities) are left as they are; a
 * framework extension fragment is not resolved through resolver hooks at all (see ADR 29).
 */
final class WiringHooks implements ResolverHookFactory {
    private final PluginBundles plugins;
    private final Policy policy;

    WiringHooks(PluginBundles plugins, Policy policy) {
        this.plugins = plugins;
        this.policy = policy;
    }

    @Override
    public ResolverHook begin(Collection<BundleRevision> triggers) {
        return new Hook();
    }

    private final class Hook implements ResolverHook {
        @Override
        public void filterResolvable(Collection<BundleRevision> candidates) {
            // every bundle may try; what it wires to is decided below
        }

        @Override
        public void filterSingletonCollisions(BundleCapability singleton, Collection<BundleCapability> candidates) {
            // A plugin that names itself like a platform singleton neither blocks it nor is blocked by it.
            boolean plugin = plugins.confined(bundleOf(singleton.getRevision()));
            candidates.removeIf(c -> plugins.confined(bundleOf(c.getRevision())) != plugin);
        }

        @Override
        public void filterMatches(BundleRequirement requirement, Collection<BundleCapability> candidates) {
            String namespace = requirement.getNamespace();
            if (!namespace.equals(PackageNamespace.PACKAGE_NAMESPACE) && !namespace.equals(BundleNamespace.BUNDLE_NAMESPACE)
                    && !namespace.equals(HostNamespace.HOST_NAMESPACE)) {
                return;
            }
            Bundle requirer = bundleOf(requirement.getRevision());
            if (requirer == null) {
                return;
            }
            PluginBundles.Kind kind = plugins.kind(requirer);
            String refused = null;
            for (Iterator<BundleCapability> it = candidates.iterator(); it.hasNext();) {
                BundleCapability c = it.next();
                Bundle provider = bundleOf(c.getRevision());
                if (provider == null || provider.getBundleId() == requirer.getBundleId()) {
                    continue; // its own export (a substitutable import) or a capability without a bundle
                }
                String why = refusal(kind, namespace, c, provider);
                if (why != null) {
                    it.remove();
                    refused = why;
                }
            }
            if (refused != null && kind.plugin()) {
                boolean optional = Namespace.RESOLUTION_OPTIONAL.equals(
                        requirement.getDirectives().get(Namespace.REQUIREMENT_RESOLUTION_DIRECTIVE));
                plugins.refuse(requirer, refused + (optional ? " (an optional import: left unwired)" : ""), optional);
            }
        }

        /** Why {@code requirer} may not wire to {@code capability} of {@code provider}; null when it may. */
        private String refusal(PluginBundles.Kind requirer, String namespace, BundleCapability capability,
                Bundle provider) {
            boolean pluginProvider = plugins.confined(provider);
            if (!requirer.plugin()) {
                return pluginProvider ? "platform bundles do not wire to plugins" : null;
            }
            String name = String.valueOf(capability.getAttributes().get(namespace));
            if (pluginProvider) {
                return "may not wire to " + name + " of another plugin (" + provider.getSymbolicName()
                        + "): plugins never wire to each other";
            }
            return switch (namespace) {
                case PackageNamespace.PACKAGE_NAMESPACE -> {
                    if (name.equals(PluginWeaving.RUNTIME_PACKAGE)
                            && PluginWeaving.SYMBOLIC_NAME.equals(provider.getSymbolicName())) {
                        yield null; // the checks woven into its classes (ADR 30)
                    }
                    Rules rules = policy.rulesOf(requirer);
                    yield rules.allowsPackage(name, provider.getBundleId() == 0) ? null
                            : "may not import package " + name + ": it is not in the sandbox's allowed packages"
                                    + (Rules.DEFAULT.equals(rules.name()) ? "" : " of tier " + rules.name());
                }
                case BundleNamespace.BUNDLE_NAMESPACE -> "may not require bundle " + name
                        + " (Require-Bundle): plugins import packages";
                default -> "may not be a fragment of " + name + ": plugins are bundles of their own";
            };
        }

        @Override
        public void end() {
            // nothing kept between resolutions
        }
    }

    private static Bundle bundleOf(BundleRevision revision) {
        return revision == null ? null : revision.getBundle();
    }
}
