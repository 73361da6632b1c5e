package dev.parley.core.internal;

import java.lang.annotation.Annotation;

/** CoreConfig values for tests, as DS would hand them to the component. */
final class TestConfigs {
    /** An owner of the operator's tenant: allowed everything, as most tests need. */
    static final dev.parley.api.identity.Principal OWNER = new dev.parley.api.identity.Principal("tester",
            dev.parley.api.identity.Principal.OPERATOR_TENANT, java.util.Set.of(dev.parley.api.identity.Role.OWNER),
            dev.parley.api.identity.AuthMethod.API_KEY, "test", java.util.Set.of(), null, "key-tester");

    private TestConfigs() {
    }

    static CoreConfig config(String defaultModel, int maxMessageChars, int drainTimeoutSeconds,
            int defaultMaxOutputTokens) {
        return config(defaultModel, maxMessageChars, drainTimeoutSeconds, defaultMaxOutputTokens, new String[0], false);
    }

    static CoreConfig config(String defaultModel, int maxMessageChars, int drainTimeoutSeconds,
            int defaultMaxOutputTokens, String[] modelPrices, boolean captureContent) {
        return new CoreConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return CoreConfig.class;
            }

            @Override
            public String defaultModel() {
                return defaultModel;
            }

            @Override
            public int maxMessageChars() {
                return maxMessageChars;
            }

            @Override
            public int drainTimeoutSeconds() {
                return drainTimeoutSeconds;
            }

            @Override
            public int defaultMaxOutputTokens() {
                return defaultMaxOutputTokens;
            }

            @Override
            public String[] modelPrices() {
                return modelPrices;
            }

            @Override
            public boolean captureContent() {
                return captureContent;
            }

            @Override
            public int budgetOutputTokens() {
                return 1024;
            }
        };
    }

    static CoreConfig defaults() {
        return config("", 32000, 20, 0);
    }

    /** Router configuration as DS would build it from {@code values} over the metatype defaults. */
    static RouterConfig routerConfig(java.util.Map<String, ?> values) {
        return (RouterConfig) java.lang.reflect.Proxy.newProxyInstance(RouterConfig.class.getClassLoader(),
                new Class<?>[] { RouterConfig.class }, (proxy, method, args) -> switch (method.getName()) {
                case "annotationType" -> RouterConfig.class;
                case "toString" -> "RouterConfig" + values;
                case "hashCode" -> values.hashCode();
                case "equals" -> proxy == args[0];
                default -> values.containsKey(method.getName()) ? values.get(method.getName())
                        : method.getDefaultValue();
                });
    }

    static RouterSettings routerSettings(java.util.Map<String, ?> values) {
        return RouterSettings.of(routerConfig(values));
    }

    /** A router on defaults, real timers, an empty state store: what CoreChatService tests run on. */
    static ModelRouter router() {
        return new ModelRouter(new InMemoryRouterStateStore(), routerSettings(java.util.Map.of()), Timers.scheduled(),
                java.time.Clock.systemUTC(), null);
    }
}
