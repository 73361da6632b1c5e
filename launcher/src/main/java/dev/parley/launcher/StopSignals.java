package dev.parley.launcher;

import java.util.List;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Marks a stop someone asked for. On SIGTERM, SIGINT or SIGHUP the system property {@value #PROPERTY} is set to the
 * signal's name before the JVM's own handling (the shutdown hooks, then exit) goes on as before. The plugin runtime
 * reads it while it stops: a process that ends without it while a plugin is starting or in its first seconds (a
 * plugin's {@code System.exit}, which runs the same shutdown hooks) counts as that plugin's crashed start, so a plugin
 * that takes the server down at every start is held after a few starts instead of crash-looping it (ADR 28).
 */
final class StopSignals {
    /** Read by {@code dev.parley.plugins} ({@code PluginOperations.STOP_REQUESTED_PROPERTY}). */
    static final String PROPERTY = "parley.stop.requested";

    private StopSignals() {
    }

    /** Installs the marking handlers; a signal the platform does not know (or reserves) is left alone. */
    static void install() {
        for (String name : List.of("TERM", "INT", "HUP")) {
            try {
                Signal signal = new Signal(name);
                SignalHandler[] previous = new SignalHandler[1];
                previous[0] = Signal.handle(signal, s -> {
                    mark("SIG" + s.getName());
                    SignalHandler before = previous[0];
                    if (before == SignalHandler.SIG_DFL || before == SignalHandler.SIG_IGN || before == null) {
                        // No JVM handler before ours (-Xrs): exit as the default action would, with the hooks.
                        System.exit(128 + s.getNumber());
                    } else {
                        before.handle(s);
                    }
                });
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                // Not available here (e.g. HUP on some platforms, or the JVM uses the signal itself).
            }
        }
    }

    static void mark(String why) {
        System.setProperty(PROPERTY, why);
    }
}
