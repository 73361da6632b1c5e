package dev.parley.registry.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Manifest;

import aQute.bnd.osgi.resource.CapReqBuilder;
import aQute.bnd.osgi.resource.ResourceBuilder;
import aQute.bnd.osgi.repository.XMLResourceGenerator;
import aQute.bnd.version.Version;
import dev.parley.registry.RegistryEntry;
import org.osgi.resource.Resource;

/**
 * The OSGi R5 repository index (XML) of published plugin versions, built with bndlib: identity, bundle, package
 * requirements and the rest of what the manifest declares, an {@code osgi.content} capability with download URL and
 * SHA-256, and a {@value #NAMESPACE} capability so a resolver can filter on Parley's own metadata.
 */
public final class R5Index {
    /** Capability namespace carrying the Parley-Plugin header's data. */
    public static final String NAMESPACE = "parley.plugin";
    static final String MIME = "application/vnd.osgi.bundle";

    /** One version to index: its registry entry and its manifest. */
    public record Item(RegistryEntry entry, Manifest manifest) {
    }

    private R5Index() {
    }

    /** @param baseUrl the registry API base, e.g. {@code https://host/api/v1/registry} */
    public static String xml(List<Item> items, String baseUrl, long increment) {
        List<Resource> resources = new ArrayList<>();
        for (Item item : items) {
            resources.add(resource(item, baseUrl));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            new XMLResourceGenerator().name("parley-plugins").increment(increment).resources(resources).indent(2).save(out);
        } catch (IOException e) {
            throw new IllegalStateException("writing the R5 index failed", e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    static Resource resource(Item item, String baseUrl) {
        RegistryEntry e = item.entry();
        ResourceBuilder builder = new ResourceBuilder();
        try {
            builder.addManifest(item.manifest());
        } catch (RuntimeException ex) {
            throw new IllegalStateException("the manifest of " + e.id() + " " + e.version() + " cannot be indexed: "
                    + ex.getMessage(), ex);
        }
        builder.addContentCapability(URI.create(artifactUrl(baseUrl, e)), e.sha256(), e.size(), MIME);
        CapReqBuilder parley = new CapReqBuilder(NAMESPACE)
                .addAttribute(NAMESPACE, e.id())
                .addAttribute("id", e.id())
                .addAttribute("version", new Version(e.version()))
                .addAttribute("type", e.type())
                .addAttribute("publisher", e.publisher())
                .addAttribute("channel", e.channel())
                .addAttribute("name", e.displayName());
        if (e.apiRange() != null && !e.apiRange().isEmpty()) {
            parley.addAttribute("apiRange", e.apiRange());
        }
        builder.addCapability(parley);
        return builder.build();
    }

    /** Where a version's jar is downloaded from, below the registry API base. */
    public static String artifactUrl(String baseUrl, RegistryEntry e) {
        String base = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        return base + "/plugins/" + e.id() + "/" + e.version() + "/artifact";
    }
}
