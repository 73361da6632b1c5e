package dev.parley.sandbox.hooks.internal;

import java.util.Collection;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.hooks.bundle.EventHook;
import org.osgi.framework.hooks.bundle.FindHook;

/**
 * A plugin's bundle context knows one bundle: the plugin's own (OSGi bundle hooks, Core chapter 56). Through it
 * {@code getBundles()} lists only itself, {@code getBundle(id)} of any other bundle (the system bundle too) is null,
 * {@code installBundle} of another bundle's location is refused ("rejected by hook"), and its bundle listeners hear
 * only of its own bundle. So the context does not hand a plugin another bundle to stop, uninstall or take the
 * context of.
 *
 * <p>What the hooks cannot stop: {@code BundleContext.getBundle(String location)} is not subject to find hooks; a
 * {@code Bundle} reached another way ({@code FrameworkUtil.getBundle(SomeClass.class)}, a service reference's
 * {@code getBundle()}, a framework event, a class loader's {@code BundleReference}) is a real bundle whose
 * {@code stop}, {@code uninstall} and {@code getBundleContext} no hook guards. Those calls are the admission scan's to
 * refuse (ADR 29).
 */
final class BundleHooks implements FindHook, EventHook {
    private final PluginBundles plugins;

    BundleHooks(PluginBundles plugins) {
        this.plugins = plugins;
    }

    @Override
    public void find(BundleContext context, Collection<Bundle> bundles) {
        Bundle observer = ServiceHooks.bundleOf(context);
        if (observer != null && plugins.confined(observer)) {
            bundles.removeIf(b -> b.getBundleId() != observer.getBundleId());
        }
    }

    @Override
    public void event(BundleEvent event, Collection<BundleContext> contexts) {
        long subject = event.getBundle().getBundleId();
        contexts.removeIf(c -> {
            Bundle observer = ServiceHooks.bundleOf(c);
            return observer != null && observer.getBundleId() != subject && plugins.confined(observer);
        });
    }
}
