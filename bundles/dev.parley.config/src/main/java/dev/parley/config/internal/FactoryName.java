package dev.parley.config.internal;

/**
 * One named instance of a factory configuration, written {@code factoryPid~name} (the form Configuration Admin 1.6
 * gives named factory configurations their PIDs, and the Configurator specification uses in JSON), so a JSON file or
 * an environment binding can create an instance of a factory component such as a provider plugin.
 */
record FactoryName(String factoryPid, String name) {

    static final String SEPARATOR = "~";

    /** The factory and name of {@code pid}, or null when it is a plain (singleton) PID. */
    static FactoryName parse(String pid) {
        int i = pid.indexOf(SEPARATOR);
        if (i <= 0 || i == pid.length() - 1) {
            return null;
        }
        return new FactoryName(pid.substring(0, i), pid.substring(i + 1));
    }
}
