package dev.parley.logging.internal;

import java.lang.reflect.Proxy;

/** {@link LoggingConfig} as Declarative Services would hand it over. */
final class TestConfig {
    private TestConfig() {
    }

    static LoggingConfig config(String rootLevel, String... levels) {
        return (LoggingConfig) Proxy.newProxyInstance(LoggingConfig.class.getClassLoader(),
                new Class<?>[] {LoggingConfig.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "rootLevel" -> rootLevel;
                    case "levels" -> levels;
                    case "annotationType" -> LoggingConfig.class;
                    case "hashCode" -> 0;
                    case "equals" -> proxy == args[0];
                    case "toString" -> "LoggingConfig(test)";
                    default -> method.getDefaultValue();
                });
    }
}
