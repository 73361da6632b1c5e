package dev.parley.registry.internal.rest;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;

import dev.parley.registry.Permission;
import dev.parley.registry.Publisher;
import dev.parley.registry.RegistryEntry;
import dev.parley.registry.internal.R5Index;

/** JSON shapes of the registry API. */
final class RegistryBodies {
    private RegistryBodies() {
    }

    /**
     * One published version, as people and the UI see it. {@code origin}: {@code published} (a signed upload) or
     * {@code distribution} (shipped inside the server; no signature).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record VersionBody(String id, String version, String symbolicName, String type, String displayName,
            String description, String publisher, String channel, boolean yanked, String yankReason,
            Map<String, String> apiImports, String apiRange, List<Permission> permissions, String sha256, long size,
            String signature, Instant publishedAt, String origin, String downloadUrl) {
        static VersionBody of(RegistryEntry e, String baseUrl) {
            return new VersionBody(e.id(), e.version(), e.symbolicName(), e.type(), e.displayName(), e.description(),
                    e.publisher(), e.channel(), e.yanked(), e.yanked() ? e.yankReason() : null, e.apiImports(),
                    e.apiRange(), e.permissions(), e.sha256(), e.size(), e.signature(), e.publishedAt(), e.origin(),
                    R5Index.artifactUrl(baseUrl, e));
        }
    }

    /**
     * One plugin: what its newest version says about it, the newest installable versions, and every version listed.
     *
     * @param latest       newest version that is not yanked among the listed channels
     * @param latestStable newest stable version that is not yanked
     * @param origin       the newest version's origin ({@code published} or {@code distribution})
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record PluginBody(String id, String type, String displayName, String description, String publisher, String origin,
            String latest, String latestStable, List<VersionBody> versions) {
    }

    record PluginList(List<PluginBody> plugins) {
    }

    record NewPublisher(String id, String publicKey) {
    }

    record PublisherBody(String id, String publicKey, Instant addedAt) {
        static PublisherBody of(Publisher p) {
            return new PublisherBody(p.id(), p.publicKey(), p.addedAt());
        }
    }

    record PublisherList(List<PublisherBody> publishers) {
    }

    record YankRequest(String reason) {
    }
}
