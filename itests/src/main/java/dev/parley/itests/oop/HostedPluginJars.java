package dev.parley.itests.oop;

import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.itests.guard.GuardPluginJars;
import dev.parley.testsupport.plugins.TestPluginJars;
import java.util.List;
import java.util.Map;

/** Plugin jars around {@link HostedTestProvider} and {@link InlineHostedProvider}. */
public final class HostedPluginJars {
    private static final String IMPORTS = "dev.parley.api.chat;version=\"[2.0,3)\",dev.parley.api.embedding;"
            + "version=\"[1.0,2)\",dev.parley.api.error;"
            + "version=\"[1.0,2)\",dev.parley.api.llm;version=\"[1.4,2)\",org.slf4j;version=\"[2.0,3)\"";

    private HostedPluginJars() {
    }

    /**
     * @param mode {@code slow}, {@code bomb} or {@code exit}; the plugin declares the one thread of its timer, which
     *             the run-time checks in its host require (ADR 30)
     */
    public static byte[] provider(String pluginId, String mode, String providerId, String model) {
        return TestPluginJars.withHeaders(GuardPluginJars.provider(HostedTestProvider.class, "dev.parley.test.hosted.",
                pluginId, "1.0.0", "test", mode, providerId, model, IMPORTS,
                List.of(ChatModelProvider.class.getName())), Map.of("Parley-Permissions", "thread;target=1"));
    }

    /** A plugin of {@link InlineHostedProvider} (chat and embeddings), which the untrusted tier admits. */
    public static byte[] inline(String pluginId, String publisher, String providerId, String model) {
        return GuardPluginJars.provider(InlineHostedProvider.class, "dev.parley.test.hosted.", pluginId, "1.0.0",
                publisher, "inline", providerId, model, IMPORTS,
                List.of(ChatModelProvider.class.getName(), EmbeddingProvider.class.getName()));
    }
}
