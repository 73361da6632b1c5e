package dev.parley.api.llm;

import java.util.Objects;

/**
 * A model a provider offers.
 *
 * @param id              the id clients ask for, unique across providers (e.g. {@code gpt-4o-mini})
 * @param providerId      the {@link ChatModelProvider#id()} that serves it
 * @param contextWindow   how many tokens prompt plus answer may use
 * @param maxOutputTokens how many tokens the answer may use at most
 */
public record ModelDescriptor(String id, String providerId, String displayName, int contextWindow, int maxOutputTokens) {
    public ModelDescriptor {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(providerId, "providerId");
        displayName = displayName == null ? id : displayName;
        if (contextWindow <= 0 || maxOutputTokens <= 0 || maxOutputTokens > contextWindow) {
            throw new IllegalArgumentException("need 0 < maxOutputTokens <= contextWindow, got "
                    + maxOutputTokens + " and " + contextWindow);
        }
    }
}
