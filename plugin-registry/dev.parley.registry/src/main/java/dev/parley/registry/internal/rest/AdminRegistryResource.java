package dev.parley.registry.internal.rest;

import dev.parley.web.rest.admin.AdminAudit;
import java.net.URI;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsExtensionSelect;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

import dev.parley.api.audit.AuditLog;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.registry.PluginDescriptors;
import dev.parley.registry.PluginRegistry;
import dev.parley.registry.Publisher;
import dev.parley.registry.RegistryEntry;
import dev.parley.registry.RegistryException;
import dev.parley.registry.Signatures;
import dev.parley.registry.internal.rest.RegistryBodies.NewPublisher;
import dev.parley.registry.internal.rest.RegistryBodies.PublisherBody;
import dev.parley.registry.internal.rest.RegistryBodies.PublisherList;
import dev.parley.registry.internal.rest.RegistryBodies.VersionBody;
import dev.parley.registry.internal.rest.RegistryBodies.YankRequest;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;

/**
 * Registry administration: trusted publishers and yanking versions (behind web.rest's admin credential check). Adding
 * a publisher ({@code registry.publisher.create}) and yanking a version ({@code registry.yank}) are recorded in the
 * audit trail, failures and refusals included.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.registry.admin")
@JSONRequired
@JakartarsExtensionSelect("(osgi.jakartars.name=parley.rest.json)")
@Path("/api/v1/admin/registry")
@Produces(MediaType.APPLICATION_JSON)
public class AdminRegistryResource {
    private final PluginRegistry registry;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog audit;

    @Activate
    public AdminRegistryResource(@Reference PluginRegistry registry) {
        this.registry = registry;
    }

    @GET
    @Path("publishers")
    public PublisherList publishers(@Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.REGISTRY_PUBLISH);
        return new PublisherList(RegistryResource.call(registry::publishers).stream().map(PublisherBody::of).toList());
    }

    @POST
    @Path("publishers")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response addPublisher(NewPublisher body, @Context UriInfo uri, @Context HttpServletRequest request) {
        return AdminAudit.run(audit, request, Permission.REGISTRY_PUBLISH, "registry.publisher.create",
                "publisher:" + (body == null || body.id() == null ? "" : body.id()), Map.of(),
                () -> createPublisher(body, uri));
    }

    private Response createPublisher(NewPublisher body, UriInfo uri) {
        if (body == null || body.id() == null || body.id().isBlank()) {
            throw RegistryErrors.invalid("Field 'id' is required.");
        }
        if (!PluginDescriptors.ID.matcher(body.id()).matches()) {
            throw RegistryErrors.invalid("Field 'id' must be 1-100 characters of a-z, 0-9, '.', '_' or '-', "
                    + "starting with a letter or digit.");
        }
        if (PluginRegistry.DISTRIBUTION_PUBLISHER.equals(body.id())) {
            throw new ParleyException(ErrorCode.CONFLICT, "Publisher id '" + PluginRegistry.DISTRIBUTION_PUBLISHER
                    + "' is reserved for the plugins the server ships; nobody can sign as the distribution. "
                    + "Choose another id.");
        }
        if (body.publicKey() == null || body.publicKey().isBlank()) {
            throw RegistryErrors.invalid("Field 'publicKey' is required: base64 of an X.509 Ed25519 public key.");
        }
        try {
            Signatures.checkPublicKey(body.publicKey());
        } catch (RegistryException e) {
            throw RegistryErrors.invalid("Field 'publicKey': " + e.getMessage() + ".");
        }
        boolean existed = registry.publisher(body.id()).isPresent();
        Publisher p = RegistryResource.call(() -> registry.addPublisher(body.id(), body.publicKey()));
        if (existed) {
            return Response.ok(PublisherBody.of(p)).build();
        }
        URI location = uri.getBaseUriBuilder().path("api/v1/admin/registry/publishers").path(p.id()).build();
        return Response.created(location).entity(PublisherBody.of(p)).build();
    }

    @POST
    @Path("plugins/{id}/{version}/yank")
    @Consumes(MediaType.APPLICATION_JSON)
    public VersionBody yank(@PathParam("id") String id, @PathParam("version") String version, YankRequest body,
            @Context UriInfo uri, @Context HttpServletRequest request) {
        String reason = body == null ? null : body.reason();
        return AdminAudit.run(audit, request, Permission.REGISTRY_PUBLISH, "registry.yank",
                "plugin:" + id + "@" + version, reason == null ? Map.of() : Map.of("reason", reason),
                () -> yankVersion(id, version, reason, uri));
    }

    private VersionBody yankVersion(String id, String version, String reason, UriInfo uri) {
        if (reason == null || reason.isBlank()) {
            throw RegistryErrors.invalid("Field 'reason' is required: tell installers why this version was yanked.");
        }
        RegistryEntry yanked = RegistryResource.call(() -> registry.yank(id, version, reason));
        return VersionBody.of(yanked, RegistryResource.baseUrl(uri));
    }

}
