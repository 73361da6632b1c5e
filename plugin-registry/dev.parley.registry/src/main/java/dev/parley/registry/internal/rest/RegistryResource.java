package dev.parley.registry.internal.rest;

import jakarta.servlet.http.HttpServletRequest;
import dev.parley.api.identity.Permission;
import dev.parley.web.rest.admin.AdminAudit;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsExtensionSelect;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.registry.PluginRegistry;
import dev.parley.registry.RegistryEntry;
import dev.parley.registry.RegistryException;
import dev.parley.registry.internal.RegistryConfig;
import dev.parley.registry.internal.rest.RegistryBodies.PluginBody;
import dev.parley.registry.internal.rest.RegistryBodies.PluginList;
import dev.parley.registry.internal.rest.RegistryBodies.VersionBody;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;

/**
 * The public registry API: JSON listing, version metadata, artifact and signature downloads, the R5 index, and
 * publishing (the signature is the publisher's credential).
 */
@Component(service = Object.class, configurationPid = RegistryConfig.PID)
@JakartarsResource
@JakartarsName("parley.registry")
@JSONRequired
@JakartarsExtensionSelect("(osgi.jakartars.name=parley.rest.json)")
@Path("/api/v1/registry")
@Produces(MediaType.APPLICATION_JSON)
public class RegistryResource {
    /** The request being served (a proxy Jersey fills per request), for the second permission check. */
    @Context
    HttpServletRequest request;

    static final String JAR = "application/java-archive";
    static final String SIGNATURE_HEADER = "X-Parley-Signature";
    static final String SHA256_HEADER = "X-Parley-Sha256";
    static final String BASE_PATH = "api/v1/registry";

    private final PluginRegistry registry;
    private final long maxArtifactBytes;

    @Activate
    public RegistryResource(@Reference PluginRegistry registry, RegistryConfig config) {
        this(registry, config.maxArtifactBytes());
    }

    RegistryResource(PluginRegistry registry, long maxArtifactBytes) {
        this.registry = registry;
        this.maxArtifactBytes = maxArtifactBytes;
    }

    @GET
    @Path("plugins")
    public PluginList list(@QueryParam("channel") String channel, @Context UriInfo uri) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        boolean beta = includeBeta(channel);
        Map<String, List<RegistryEntry>> byId = new LinkedHashMap<>();
        for (RegistryEntry e : call(registry::entries)) {
            if (beta || RegistryEntry.STABLE.equals(e.channel())) {
                byId.computeIfAbsent(e.id(), k -> new ArrayList<>()).add(e);
            }
        }
        String base = baseUrl(uri);
        return new PluginList(byId.values().stream().map(versions -> plugin(versions, base)).toList());
    }

    @GET
    @Path("plugins/{id}")
    public PluginBody plugin(@PathParam("id") String id, @Context UriInfo uri) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        List<RegistryEntry> versions = call(() -> registry.versions(id));
        if (versions.isEmpty()) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "No plugin '" + id + "' in this registry.");
        }
        return plugin(versions, baseUrl(uri));
    }

    @GET
    @Path("plugins/{id}/{version}")
    public VersionBody version(@PathParam("id") String id, @PathParam("version") String version, @Context UriInfo uri) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        return VersionBody.of(entry(id, version), baseUrl(uri));
    }

    @GET
    @Path("plugins/{id}/{version}/artifact")
    @Produces({JAR, MediaType.APPLICATION_JSON})
    public Response artifact(@PathParam("id") String id, @PathParam("version") String version) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        RegistryEntry entry = entry(id, version);
        byte[] bytes = call(() -> registry.artifact(entry.id(), entry.version()));
        return Response.ok(bytes, JAR)
                .header("Digest", "sha-256=" + Base64.getEncoder().encodeToString(HexFormat.of().parseHex(entry.sha256())))
                .header(SHA256_HEADER, entry.sha256())
                .header(SIGNATURE_HEADER, entry.signature())
                .header("Content-Disposition", "attachment; filename=\"" + entry.id() + "-" + entry.version() + ".jar\"")
                .build();
    }

    @GET
    @Path("plugins/{id}/{version}/signature")
    @Produces({MediaType.TEXT_PLAIN, MediaType.APPLICATION_JSON})
    public Response signature(@PathParam("id") String id, @PathParam("version") String version) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        RegistryEntry entry = entry(id, version);
        if (entry.signature() == null) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "Plugin '" + id + "' version '" + version
                    + "' has no signature: it ships with the server (origin distribution).");
        }
        return Response.ok(entry.signature() + "\n", MediaType.TEXT_PLAIN_TYPE).build();
    }

    @GET
    @Path("index.xml")
    @Produces({MediaType.APPLICATION_XML, MediaType.APPLICATION_JSON})
    public Response index(@Context UriInfo uri) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        String xml = call(() -> registry.r5Index(baseUrl(uri)));
        return Response.ok(xml, MediaType.APPLICATION_XML_TYPE).build();
    }

    @POST
    @Path("plugins")
    @Consumes({JAR, MediaType.APPLICATION_OCTET_STREAM})
    public Response publish(InputStream body, @QueryParam("channel") String channel,
            @HeaderParam(SIGNATURE_HEADER) String signatureHeader, @Context HttpHeaders headers, @Context UriInfo uri)
            throws IOException {
        AdminAudit.require(request, Permission.REGISTRY_PUBLISH);
        if (headers.getLength() > maxArtifactBytes) {
            throw tooLarge();
        }
        String ch = channel == null || channel.isBlank() ? RegistryEntry.STABLE : channel.trim();
        if (!ch.equals(RegistryEntry.STABLE) && !ch.equals(RegistryEntry.BETA)) {
            throw RegistryErrors.invalid("Query parameter 'channel' must be stable or beta.");
        }
        if (signatureHeader == null || signatureHeader.isBlank()) {
            throw RegistryErrors.invalid("Header " + SIGNATURE_HEADER + " is required: the base64 Ed25519 signature "
                    + "of the jar by its publisher.");
        }
        byte[] signature;
        try {
            signature = Base64.getDecoder().decode(signatureHeader.trim());
        } catch (IllegalArgumentException e) {
            throw RegistryErrors.invalid("Header " + SIGNATURE_HEADER + " is not valid base64.");
        }
        byte[] jar = readCapped(body);
        if (!isZip(jar)) {
            throw RegistryErrors.invalid("The request body is not a jar (zip archive); send the plugin jar itself.");
        }
        RegistryEntry entry = call(() -> registry.publish(jar, signature, ch));
        URI location = uri.getBaseUriBuilder().path(BASE_PATH).path("plugins").path(entry.id()).path(entry.version()).build();
        return Response.created(location).entity(VersionBody.of(entry, baseUrl(uri))).type(MediaType.APPLICATION_JSON_TYPE)
                .build();
    }

    private byte[] readCapped(InputStream body) throws IOException {
        if (body == null) {
            return new byte[0];
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = body.read(buffer)) >= 0) {
            out.write(buffer, 0, n);
            if (out.size() > maxArtifactBytes) {
                throw tooLarge();
            }
        }
        return out.toByteArray();
    }

    private ParleyException tooLarge() {
        return new ParleyException(ErrorCode.TOO_LARGE, "The plugin jar is larger than this registry's limit of "
                + maxArtifactBytes + " bytes.");
    }

    private static boolean isZip(byte[] b) {
        return b.length >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;
    }

    private RegistryEntry entry(String id, String version) {
        return call(() -> registry.entry(id, version)).orElseThrow(() -> new ParleyException(ErrorCode.NOT_FOUND,
                "No plugin '" + id + "' version '" + version + "' in this registry."));
    }

    private static PluginBody plugin(List<RegistryEntry> newestFirst, String base) {
        RegistryEntry newest = newestFirst.get(0);
        String latest = newestFirst.stream().filter(e -> !e.yanked()).map(RegistryEntry::version).findFirst().orElse(null);
        String latestStable = newestFirst.stream().filter(RegistryEntry::stableRelease)
                .map(RegistryEntry::version).findFirst().orElse(null);
        return new PluginBody(newest.id(), newest.type(), newest.displayName(), newest.description(), newest.publisher(),
                newest.origin(), latest, latestStable, newestFirst.stream().map(e -> VersionBody.of(e, base)).toList());
    }

    private static boolean includeBeta(String channel) {
        if (channel == null || channel.isBlank() || channel.equals(RegistryEntry.STABLE)) {
            return false;
        }
        if (channel.equals(RegistryEntry.BETA)) {
            return true;
        }
        throw RegistryErrors.invalid("Query parameter 'channel' must be stable or beta.");
    }

    static String baseUrl(UriInfo uri) {
        return uri.getBaseUriBuilder().path(BASE_PATH).build().toString();
    }

    static <T> T call(Supplier<T> action) {
        try {
            return action.get();
        } catch (RegistryException e) {
            throw RegistryErrors.toParley(e);
        }
    }
}
