package dev.parley.testsupport.plugins;

/**
 * The implementation class of a plugin whose Declarative Services component throws in its activate method: packed
 * into a plugin jar by {@link TestPluginJars#throwingOnActivate}. References only java.* so the jar needs no imports.
 */
public class ThrowingComponent implements Runnable {

    public void activate() {
        throw new IllegalStateException("this plugin version cannot start: boom in activate");
    }

    @Override
    public void run() {
        // never called: the component never activates
    }
}
