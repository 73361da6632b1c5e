package dev.parley.provider.anthropic.internal;

import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Map;

/** Builds the provider's configuration the way Declarative Services does: given keys, else the defaults. */
final class TestConfigs {

    private TestConfigs() {
    }

    static AnthropicProviderConfig config(Map<String, Object> values) {
        return (AnthropicProviderConfig) Proxy.newProxyInstance(AnthropicProviderConfig.class.getClassLoader(),
                new Class<?>[] {AnthropicProviderConfig.class}, (proxy, method, args) -> {
                    String key = method.getName().equals("_apiKey") ? ".apiKey" : method.getName();
                    if (method.getName().equals("annotationType")) {
                        return AnthropicProviderConfig.class;
                    }
                    Object v = values.get(key);
                    return v != null ? v : method.getDefaultValue();
                });
    }

    /** A provider for {@code baseUrl} with {@code key} and the given settings (pairs of key, value). */
    static AnthropicChatModelProvider provider(String baseUrl, String key, Object... settings) {
        Map<String, Object> props = new HashMap<>();
        props.put("baseUrl", baseUrl);
        if (key != null) {
            props.put(".apiKey", key);
        }
        for (int i = 0; i + 1 < settings.length; i += 2) {
            props.put((String) settings[i], settings[i + 1]);
        }
        var provider = new AnthropicChatModelProvider(config(props), props);
        try {
            // A cold SDK (Jackson over Kotlin reflection) can take seconds on a busy machine; the fake server's cut and
            // timing scripts assume a client that reads as the bytes come.
            provider.warmedUp().get(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("the provider did not warm up", e);
        }
        return provider;
    }
}
