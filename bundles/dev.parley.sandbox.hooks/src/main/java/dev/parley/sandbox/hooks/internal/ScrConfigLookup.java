package dev.parley.sandbox.hooks.internal;

import java.util.function.BooleanSupplier;
import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkUtil;

/**
 * Whether the calling thread is Felix SCR's configuration tracker for a bundle (opened with that bundle's context to
 * read its components' configurations): a class of that name, loaded by the SCR bundle itself, is on the stack. A
 * plugin cannot put a class of the SCR bundle on its stack: it cannot load SCR's private packages (the resolver hook
 * keeps it from importing them), and declaring its own class of that name gives a class of the plugin's bundle.
 *
 * <p>If a later SCR renames the tracker, plugin components stop getting their configuration (the health gate reports
 * them waiting for it): the sandbox fails closed, and the in-framework tests of configured plugins fail.
 */
final class ScrConfigLookup implements BooleanSupplier {
    static final String TRACKER = "org.apache.felix.scr.impl.helper.ConfigAdminTracker";
    static final String SCR = "org.apache.felix.scr";
    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);

    @Override
    public boolean getAsBoolean() {
        return WALKER.walk(frames -> frames.anyMatch(f -> f.getClassName().equals(TRACKER)
                && fromScr(f.getDeclaringClass())));
    }

    private static boolean fromScr(Class<?> type) {
        Bundle bundle = FrameworkUtil.getBundle(type);
        return bundle != null && SCR.equals(bundle.getSymbolicName());
    }
}
