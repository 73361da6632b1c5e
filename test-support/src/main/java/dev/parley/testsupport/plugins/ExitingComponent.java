package dev.parley.testsupport.plugins;

/**
 * The implementation class of a hostile plugin whose Declarative Services component ends the whole server in its
 * activate method: packed into a plugin jar by {@link TestPluginJars#exitingOnActivate}. The sandbox's admission must
 * refuse it before it is installed; if it ever ran in a test framework, it would end that framework.
 */
public class ExitingComponent implements Runnable {

    public void activate() {
        System.exit(1);
    }

    @Override
    public void run() {
        // never called
    }
}
