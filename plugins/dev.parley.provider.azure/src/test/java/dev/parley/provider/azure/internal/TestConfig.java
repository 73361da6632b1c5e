package dev.parley.provider.azure.internal;

import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Map;

/** An {@link AzureOpenAiConfig} as Declarative Services builds it: the properties given, else the defaults. */
final class TestConfig {
    private TestConfig() {
    }

    static AzureOpenAiConfig of(Map<String, Object> properties) {
        Map<String, Object> props = new HashMap<>(properties);
        return (AzureOpenAiConfig) Proxy.newProxyInstance(AzureOpenAiConfig.class.getClassLoader(),
                new Class<?>[] {AzureOpenAiConfig.class}, (proxy, method, args) -> {
                    if (method.getDeclaringClass() == Object.class) {
                        return switch (method.getName()) {
                            case "toString" -> "AzureOpenAiConfig" + props.keySet();
                            case "hashCode" -> System.identityHashCode(proxy);
                            case "equals" -> proxy == args[0];
                            default -> throw new UnsupportedOperationException(method.getName());
                        };
                    }
                    if (method.getName().equals("annotationType")) {
                        return AzureOpenAiConfig.class;
                    }
                    String name = method.getName();
                    // Declarative Services maps a method _x to the property ".x".
                    Object v = props.get(name.startsWith("_") ? "." + name.substring(1) : name);
                    return v != null ? v : method.getDefaultValue();
                });
    }
}
