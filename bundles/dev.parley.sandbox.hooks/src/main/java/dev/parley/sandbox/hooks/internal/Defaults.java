package dev.parley.sandbox.hooks.internal;

import java.lang.annotation.Annotation;
import java.lang.reflect.Proxy;

/** A configuration annotation whose every attribute answers its default: the values without any configuration. */
final class Defaults {
    private Defaults() {
    }

    static <A extends Annotation> A of(Class<A> type) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, method, args) -> {
            if (method.getName().equals("annotationType") && method.getParameterCount() == 0) {
                return type;
            }
            Object value = method.getDefaultValue();
            if (value == null) {
                throw new UnsupportedOperationException(method.getName());
            }
            return value instanceof String[] a ? a.clone() : value;
        }));
    }
}
