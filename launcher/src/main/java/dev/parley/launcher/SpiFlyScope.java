package dev.parley.launcher;

import java.util.Collection;
import java.util.Set;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.hooks.bundle.EventHook;
import org.osgi.framework.hooks.bundle.FindHook;

/**
 * Keeps Aries SPI Fly from weaving bundles whose {@code ServiceLoader} calls Parley does not need (OSGi bundle hooks,
 * Core spec chapter 56). SPI Fly weaves every class of a bundle that declares itself a service-loader consumer: it
 * reads and rewrites each one with ASM, computing stack-map frames, whether or not the class calls
 * {@code ServiceLoader}. The Jetty bundle declares itself one (for HTTP/2 field encoders and TLS ALPN, neither of
 * which Parley serves; Jetty falls back to its built-in HTTP/1 encoder), and weaving its classes was about a
 * fifth of the start time. SPI Fly learns about consumers only through its bundle tracker, so hiding these bundles
 * from SPI Fly's own bundle context, and from nobody else, means it never weaves them. SLF4J, the REST whiteboard
 * and bundles installed later (plugins) are still seen and served as before.
 */
final class SpiFlyScope implements FindHook, EventHook {
    static final String SPIFLY = "org.apache.aries.spifly.dynamic.bundle";
    /** Bundles SPI Fly must not weave: service-loader consumers whose look-ups Parley does not need. */
    static final Set<String> NOT_WOVEN = Set.of("org.apache.felix.http.jetty12", "org.eclipse.jetty.alpn.client");

    static void install(BundleContext systemContext) {
        var hook = new SpiFlyScope();
        systemContext.registerService(new String[] {FindHook.class.getName(), EventHook.class.getName()}, hook, null);
    }

    static boolean hidden(Bundle observer, Bundle observed) {
        return observer != null && SPIFLY.equals(observer.getSymbolicName()) && observed != null
                && NOT_WOVEN.contains(observed.getSymbolicName());
    }

    @Override
    public void find(BundleContext context, Collection<Bundle> bundles) {
        Bundle observer = context.getBundle();
        if (observer != null && SPIFLY.equals(observer.getSymbolicName())) {
            bundles.removeIf(b -> hidden(observer, b));
        }
    }

    @Override
    public void event(BundleEvent event, Collection<BundleContext> contexts) {
        if (NOT_WOVEN.contains(event.getBundle().getSymbolicName())) {
            contexts.removeIf(c -> hidden(c.getBundle(), event.getBundle()));
        }
    }
}
