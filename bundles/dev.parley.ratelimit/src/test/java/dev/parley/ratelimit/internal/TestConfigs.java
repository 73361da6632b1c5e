package dev.parley.ratelimit.internal;

import java.lang.reflect.Proxy;
import java.util.Map;

/** Builds a configuration annotation instance from a map, the way DS does, so components can be constructed directly. */
final class TestConfigs {
    private TestConfigs() {
    }

    static RateLimiterConfig limiter(Map<String, ?> values) {
        return of(RateLimiterConfig.class, values);
    }

    static <A> A of(Class<A> type, Map<String, ?> values) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] { type },
                (proxy, method, args) -> switch (method.getName()) {
                case "annotationType" -> type;
                case "toString" -> type.getSimpleName() + values;
                case "hashCode" -> values.hashCode();
                case "equals" -> proxy == args[0];
                default -> values.containsKey(method.getName()) ? values.get(method.getName())
                        : method.getDefaultValue();
                }));
    }
}
