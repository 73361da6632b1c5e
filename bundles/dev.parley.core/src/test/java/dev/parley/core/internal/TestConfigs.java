package dev.parley.core.internal;

import java.lang.annotation.Annotation;

/** CoreConfig values for tests, as DS would hand them to the component. */
final class TestConfigs {
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
        };
    }

    static CoreConfig defaults() {
        return config("", 32000, 20, 0);
    }
}
