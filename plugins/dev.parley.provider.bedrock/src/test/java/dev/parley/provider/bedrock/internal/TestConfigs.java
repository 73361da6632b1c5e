package dev.parley.provider.bedrock.internal;

import dev.parley.testsupport.bedrock.FakeBedrockServer;
import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Map;

/** Builds {@link BedrockProviderConfig} instances as DS would: the annotation's defaults, overridden per test. */
final class TestConfigs {

    private TestConfigs() {
    }

    /** A configuration for {@code server} with its test credentials and the given overrides (method name → value). */
    static BedrockProviderConfig forServer(FakeBedrockServer server, Object... overrides) {
        Map<String, Object> values = new HashMap<>();
        values.put("endpoint", server.endpoint());
        values.put("_accessKeyId", FakeBedrockServer.ACCESS_KEY_ID);
        values.put("_secretAccessKey", FakeBedrockServer.SECRET_ACCESS_KEY);
        values.put("region", FakeBedrockServer.REGION);
        values.put("models", new String[] {"anthropic.claude-3-5-haiku-20241022-v1:0", "amazon.nova-lite-v1:0"});
        values.put("drainTimeoutSeconds", 2);
        for (int i = 0; i + 1 < overrides.length; i += 2) {
            values.put((String) overrides[i], overrides[i + 1]);
        }
        return config(values);
    }

    static BedrockProviderConfig config(Map<String, Object> values) {
        return (BedrockProviderConfig) Proxy.newProxyInstance(BedrockProviderConfig.class.getClassLoader(),
                new Class<?>[] {BedrockProviderConfig.class}, (proxy, method, args) -> {
                    if (values.containsKey(method.getName())) {
                        return values.get(method.getName());
                    }
                    if (method.getDefaultValue() != null) {
                        return method.getDefaultValue();
                    }
                    return switch (method.getName()) {
                        case "annotationType" -> BedrockProviderConfig.class;
                        case "toString" -> "BedrockProviderConfig" + values.keySet();
                        case "hashCode" -> values.hashCode();
                        case "equals" -> proxy == args[0];
                        default -> throw new IllegalStateException("no value for " + method.getName());
                    };
                });
    }
}
