package dev.parley.registry.s3.internal;

import java.lang.reflect.Proxy;
import java.util.Map;

/** Builds a configuration annotation instance from a map, the way DS does, so the component can be built directly. */
final class TestConfigs {
    private TestConfigs() {
    }

    static S3StorageConfig s3(Map<String, ?> values) {
        return S3StorageConfig.class.cast(Proxy.newProxyInstance(S3StorageConfig.class.getClassLoader(),
                new Class<?>[] { S3StorageConfig.class }, (proxy, method, args) -> switch (method.getName()) {
                case "annotationType" -> S3StorageConfig.class;
                case "toString" -> "S3StorageConfig" + values.keySet();
                case "hashCode" -> values.hashCode();
                case "equals" -> proxy == args[0];
                default -> values.containsKey(method.getName()) ? values.get(method.getName())
                        : method.getDefaultValue();
                }));
    }
}
