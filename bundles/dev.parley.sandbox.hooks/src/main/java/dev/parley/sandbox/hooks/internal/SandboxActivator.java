package dev.parley.sandbox.hooks.internal;

import dev.parley.sandbox.hooks.Confinement;
import dev.parley.sandbox.hooks.runtime.PluginChecks;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.framework.hooks.resolver.ResolverHookFactory;
import org.osgi.framework.hooks.service.EventListenerHook;
import org.osgi.framework.hooks.service.FindHook;
import org.osgi.framework.hooks.service.ListenerHook;
import org.osgi.framework.hooks.weaving.WeavingHook;

/**
 * Registers the sandbox's framework hooks when this bundle starts, with the built-in rules; configuration changes the
 * rules later ({@link SandboxSettings}, {@link SandboxTier}) without unregistering anything.
 *
 * <p>An activator rather than a Declarative Services component: the hooks must be in place before any plugin
 * resolves or looks a service up, and this bundle starts at start level 1 (the launcher's and the test runtime's
 * first level), while plugins run at level 5 (the in-framework tests run the OpenAI plugin at level 2). A component
 * would be activated whenever SCR gets to it, and would go away and come back whenever its configuration did. The
 * {@link Confinement} service is registered last, after every hook: the plugin runtime requires it, so it never runs
 * without the hooks.
 */
public final class SandboxActivator implements BundleActivator {
    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();
    private final BooleanSupplier scrConfigLookup;
    private PluginBundles plugins;
    private Policy policy;
    private RuntimeEnforcement enforcement;

    public SandboxActivator() {
        this(new ScrConfigLookup());
    }

    /** @param scrConfigLookup whether the calling thread is SCR's configuration tracker (tests decide it) */
    SandboxActivator(BooleanSupplier scrConfigLookup) {
        this.scrConfigLookup = scrConfigLookup;
    }

    @Override
    public void start(BundleContext context) {
        policy = new Policy(Rules.defaults(), conflict -> Log.get().error(
                "event=sandbox_tier_conflict reason=\"{}\"", conflict));
        plugins = new PluginBundles();
        context.addBundleListener(plugins);
        ServiceHooks services = new ServiceHooks(plugins, policy, scrConfigLookup);
        registrations.add(context.registerService(new String[] {FindHook.class.getName(),
            EventListenerHook.class.getName(), ListenerHook.class.getName()}, services, null));
        registrations.add(context.registerService(new String[] {org.osgi.framework.hooks.bundle.FindHook.class.getName(),
            org.osgi.framework.hooks.bundle.EventHook.class.getName()}, new BundleHooks(plugins), null));
        registrations.add(context.registerService(ResolverHookFactory.class, new WiringHooks(plugins, policy), null));
        // The run-time checks (ADR 30): their decisions first, then the hook that weaves calls to them.
        enforcement = new RuntimeEnforcement(context, plugins, policy);
        enforcement.start();
        PluginChecks.install(enforcement);
        registrations.add(context.registerService(WeavingHook.class, new PluginWeaving(context.getBundle().getBundleId(), plugins,
                enforcement), null));
        registrations.add(context.registerService(Policy.class, policy, null));
        ServiceRegistration<Confinement> confinement = context.registerService(Confinement.class, plugins, null);
        registrations.add(confinement);
        // Which configurations are in force, as a property of the Confinement service: a waiter gets its event.
        policy.onApplied(applied -> {
            java.util.Hashtable<String, Object> props = new java.util.Hashtable<>();
            props.put(Confinement.APPLIED_PROPERTY, applied.toArray(String[]::new));
            try {
                confinement.setProperties(props);
            } catch (IllegalStateException e) {
                // unregistered: stopping
            }
        });
    }

    @Override
    public void stop(BundleContext context) {
        // The framework stops this bundle last (level 1), after every plugin; unregistered in reverse order.
        for (int i = registrations.size() - 1; i >= 0; i--) {
            try {
                registrations.get(i).unregister();
            } catch (IllegalStateException e) {
                // already gone
            }
        }
        registrations.clear();
        if (enforcement != null) {
            PluginChecks.install(null);
            enforcement.stop();
        }
        if (plugins != null) {
            context.removeBundleListener(plugins);
        }
    }

    PluginBundles plugins() {
        return plugins;
    }

    Policy policy() {
        return policy;
    }

    RuntimeEnforcement enforcement() {
        return enforcement;
    }
}
