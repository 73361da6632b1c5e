package dev.parley.sandbox.hooks.internal;

import org.osgi.framework.Bundle;
import org.osgi.framework.hooks.weaving.WeavingException;
import org.osgi.framework.hooks.weaving.WeavingHook;
import org.osgi.framework.hooks.weaving.WovenClass;

/**
 * Weaves the run-time checks into every class a plugin's class loader defines, embedded jars on its
 * {@code Bundle-ClassPath} included (ADR 30); classes of other bundles are left as they are. A woven class imports
 * {@value #RUNTIME_PACKAGE} dynamically, from this bundle only.
 */
final class PluginWeaving implements WeavingHook {
    static final String RUNTIME_PACKAGE = "dev.parley.sandbox.hooks.runtime";
    static final String SYMBOLIC_NAME = "dev.parley.sandbox.hooks";
    static final String IMPORT = RUNTIME_PACKAGE + ";bundle-symbolic-name=\"" + SYMBOLIC_NAME + "\"";

    private final long own;
    private final PluginBundles plugins;
    private final RuntimeEnforcement enforcement;

    /** @param own this bundle's id */
    PluginWeaving(long own, PluginBundles plugins, RuntimeEnforcement enforcement) {
        this.own = own;
        this.plugins = plugins;
        this.enforcement = enforcement;
    }

    @Override
    public void weave(WovenClass woven) {
        Bundle bundle = woven.getBundleWiring().getBundle();
        // The framework asks about this bundle's own classes too: answered before anything here needs a class of it
        // that may be the one being defined (a class circularity would make the framework drop the hook).
        if (bundle.getBundleId() == own || !plugins.confined(bundle)) {
            return;
        }
        byte[] bytes;
        try {
            bytes = CallSiteWeaver.weave(woven.getBytes(), enforcement.token(bundle));
        } catch (RuntimeException | LinkageError e) {
            // A class that cannot be woven is not defined (a WeavingException, not another exception: the framework
            // would stop calling a hook that throws anything else, for every later class).
            plugins.refuse(bundle, "class " + woven.getClassName() + " could not be woven, so it is not loaded: " + e);
            throw new WeavingException("the plugin sandbox could not weave " + woven.getClassName(), e);
        }
        if (bytes != null) {
            woven.setBytes(bytes);
            if (!woven.getDynamicImports().contains(IMPORT)) {
                woven.getDynamicImports().add(IMPORT);
            }
        }
    }
}
