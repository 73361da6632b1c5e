package org.apache.felix.scr.impl.helper;

import java.util.function.BooleanSupplier;

/**
 * A class with the name of Felix SCR's configuration tracker that SCR did not load: what a plugin could embed to pass
 * for SCR. The sandbox must not take it for SCR.
 */
public final class ConfigAdminTracker {
    private ConfigAdminTracker() {
    }

    /** The sandbox's check, called with this class on the stack. */
    public static boolean lookUp() {
        BooleanSupplier lookup = newLookup();
        return lookup.getAsBoolean();
    }

    /** Proves the stack walk sees this frame at all (so {@link #lookUp} being false means something). */
    public static boolean sawItself() {
        return StackWalker.getInstance().walk(s -> s.anyMatch(f -> f.getClassName().equals(
                ConfigAdminTracker.class.getName())));
    }

    private static BooleanSupplier newLookup() {
        try {
            var type = Class.forName("dev.parley.sandbox.hooks.internal.ScrConfigLookup");
            var constructor = type.getDeclaredConstructor();
            constructor.setAccessible(true);
            return (BooleanSupplier) constructor.newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
