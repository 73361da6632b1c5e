package dev.parley.sandbox.hooks.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This bundle's logger, created on first use. The sandbox starts at start level 1, possibly before the SLF4J provider
 * is registered, and SLF4J decides once, at its first use, whether any provider exists: nothing here may touch SLF4J
 * while the framework starts (nothing is logged then anyway: no plugin runs at level 1).
 */
final class Log {
    private Log() {
    }

    static Logger get() {
        return Holder.LOG;
    }

    private static final class Holder {
        static final Logger LOG = LoggerFactory.getLogger("dev.parley.sandbox.hooks");
    }
}
