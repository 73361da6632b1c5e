package dev.parley.api.llm;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * A model a provider offers.
 *
 * @param id              the model's id at its provider (e.g. {@code gpt-4o-mini}), unique within that provider;
 *                        clients name it bare (the router's configuration decides which provider answers when
 *                        several serve it) or as {@code providerId/id}
 * @param providerId      the {@link ChatModelProvider#id()} that serves it
 * @param contextWindow   how many tokens prompt plus answer may use
 * @param maxOutputTokens how many tokens the answer may use at most
 * @param capabilities    what the model accepts beyond text chat (since 1.2); empty means the provider did not say,
 *                        and then core passes tools, images and response formats through for the provider to refuse
 */
public record ModelDescriptor(String id, String providerId, String displayName, int contextWindow, int maxOutputTokens,
        Set<ModelCapability> capabilities) {
    /** A model whose capabilities are not declared, as before 1.2. */
    public ModelDescriptor(String id, String providerId, String displayName, int contextWindow, int maxOutputTokens) {
        this(id, providerId, displayName, contextWindow, maxOutputTokens, Set.of());
    }

    public ModelDescriptor {
        capabilities = capabilities == null || capabilities.isEmpty() ? Set.of()
                : Collections.unmodifiableSet(EnumSet.copyOf(capabilities));
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(providerId, "providerId");
        displayName = displayName == null ? id : displayName;
        if (contextWindow <= 0 || maxOutputTokens <= 0 || maxOutputTokens > contextWindow) {
            throw new IllegalArgumentException("need 0 < maxOutputTokens <= contextWindow, got "
                    + maxOutputTokens + " and " + contextWindow);
        }
    }
}
