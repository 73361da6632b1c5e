package dev.parley.sandbox.hooks.internal;

import java.util.Collection;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.hooks.service.EventListenerHook;
import org.osgi.framework.hooks.service.FindHook;
import org.osgi.framework.hooks.service.ListenerHook;

/**
 * Which services a bundle finds and hears about (OSGi service hooks, Core chapter 55), for two kinds of bundle:
 *
 * <ul>
 * <li>A plugin finds its own services and, of the platform's, only registrations whose every interface its rules list
 * as visible; never another plugin's. Its service listeners hear about nothing else. Declarative Services looks up a
 * plugin's references through the plugin's own bundle context, so the same rule decides what a plugin component can
 * reference.</li>
 * <li>Every other bundle sees a plugin's registration only when its every interface is one the plugin's rules let
 * plugins provide (a chat or embedding provider): a plugin cannot slip an authenticator, a servlet filter, an event
 * handler or a managed service in front of the platform.</li>
 * </ul>
 *
 * <p>One exception: Configuration Admin. Felix SCR reads a component's configurations through the component's bundle
 * context, with a tracker it opens for that bundle ({@code org.apache.felix.scr.impl.helper.ConfigAdminTracker}).
 * A plugin's context finds Configuration Admin, and its listeners hear of it, only when that tracker of the SCR bundle
 * asks ({@link ScrConfigLookup}); a plugin's own code or a component's reference never gets it.
 */
final class ServiceHooks implements FindHook, EventListenerHook, ListenerHook {
    static final String CONFIGURATION_ADMIN = "org.osgi.service.cm.ConfigurationAdmin";

    private final PluginBundles plugins;
    private final Policy policy;
    private final BooleanSupplier scrConfigLookup;
    /** Service listeners SCR's configuration tracker added for plugin contexts: they alone hear of Configuration Admin. */
    private final Set<ListenerHook.ListenerInfo> scrConfigListeners = ConcurrentHashMap.newKeySet();

    /** @param scrConfigLookup whether the calling thread is SCR's configuration tracker looking for Configuration Admin */
    ServiceHooks(PluginBundles plugins, Policy policy, BooleanSupplier scrConfigLookup) {
        this.plugins = plugins;
        this.policy = policy;
        this.scrConfigLookup = scrConfigLookup;
    }

    /** Whether {@code observer} may see the registration {@code ref}. */
    boolean visible(Bundle observer, ServiceReference<?> ref) {
        Bundle owner = ref.getBundle();
        if (owner == null || observer == null) {
            return true; // unregistered meanwhile: nothing to get
        }
        if (owner.getBundleId() == observer.getBundleId() || observer.getBundleId() == 0) {
            return true;
        }
        String[] interfaces = interfaces(ref);
        PluginBundles.Kind ownerKind = plugins.kind(owner);
        PluginBundles.Kind observerKind = plugins.kind(observer);
        if (ownerKind.plugin()) {
            // Plugins never see each other's services; the platform sees only the provider services of a plugin.
            return !observerKind.plugin() && policy.rulesOf(ownerKind).provided().allowsAll(interfaces);
        }
        return !observerKind.plugin() || policy.rulesOf(observerKind).visible().allowsAll(interfaces);
    }

    @Override
    public void find(BundleContext context, String name, String filter, boolean allServices,
            Collection<ServiceReference<?>> references) {
        Bundle observer = bundleOf(context);
        if (observer == null || references.isEmpty()) {
            return;
        }
        Boolean scr = null;
        for (Iterator<ServiceReference<?>> it = references.iterator(); it.hasNext();) {
            ServiceReference<?> ref = it.next();
            if (visible(observer, ref)) {
                continue;
            }
            if (configurationAdmin(ref) && plugins.confined(observer)) {
                if (scr == null) {
                    scr = scrConfigLookup.getAsBoolean();
                }
                if (scr) {
                    continue;
                }
            }
            it.remove();
        }
    }

    @Override
    public void event(ServiceEvent event, Map<BundleContext, Collection<ListenerHook.ListenerInfo>> listeners) {
        ServiceReference<?> ref = event.getServiceReference();
        boolean configurationAdmin = configurationAdmin(ref);
        for (Iterator<Map.Entry<BundleContext, Collection<ListenerHook.ListenerInfo>>> it = listeners.entrySet()
                .iterator(); it.hasNext();) {
            Map.Entry<BundleContext, Collection<ListenerHook.ListenerInfo>> e = it.next();
            Bundle observer = bundleOf(e.getKey());
            if (observer == null || visible(observer, ref)) {
                continue;
            }
            if (configurationAdmin && plugins.confined(observer)) {
                e.getValue().removeIf(info -> !scrConfigListeners.contains(info));
                if (!e.getValue().isEmpty()) {
                    continue;
                }
            }
            it.remove();
        }
    }

    @Override
    public void added(Collection<ListenerHook.ListenerInfo> listeners) {
        for (ListenerHook.ListenerInfo info : listeners) {
            String filter = info.getFilter();
            if (!info.isRemoved() && filter != null && filter.contains(CONFIGURATION_ADMIN)
                    && plugins.confined(bundleOf(info.getBundleContext())) && scrConfigLookup.getAsBoolean()) {
                scrConfigListeners.add(info);
            }
        }
    }

    @Override
    public void removed(Collection<ListenerHook.ListenerInfo> listeners) {
        scrConfigListeners.removeAll(listeners);
    }

    /** For tests: how many SCR configuration listeners of plugins are known. */
    int scrConfigListeners() {
        return scrConfigListeners.size();
    }

    private static boolean configurationAdmin(ServiceReference<?> ref) {
        for (String i : interfaces(ref)) {
            if (CONFIGURATION_ADMIN.equals(i)) {
                return true;
            }
        }
        return false;
    }

    private static String[] interfaces(ServiceReference<?> ref) {
        Object value = ref.getProperty(Constants.OBJECTCLASS);
        return value instanceof String[] a ? a : new String[0];
    }

    static Bundle bundleOf(BundleContext context) {
        try {
            return context == null ? null : context.getBundle();
        } catch (IllegalStateException e) {
            return null; // the context is no longer valid
        }
    }
}
