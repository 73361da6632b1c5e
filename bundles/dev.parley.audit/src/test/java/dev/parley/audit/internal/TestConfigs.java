package dev.parley.audit.internal;

import java.lang.reflect.Proxy;
import java.util.Map;

/** Builds a configuration annotation instance from a map, the way DS does, so components can be constructed directly. */
final class TestConfigs {
    private TestConfigs() {
    }

    static AuditConfig audit(Map<String, ?> values) {
        return AuditConfig.class.cast(Proxy.newProxyInstance(AuditConfig.class.getClassLoader(),
                new Class<?>[] { AuditConfig.class }, (proxy, method, args) -> switch (method.getName()) {
                case "annotationType" -> AuditConfig.class;
                case "toString" -> "AuditConfig" + values;
                case "hashCode" -> values.hashCode();
                case "equals" -> proxy == args[0];
                default -> values.containsKey(method.getName()) ? values.get(method.getName())
                        : method.getDefaultValue();
                }));
    }
}
