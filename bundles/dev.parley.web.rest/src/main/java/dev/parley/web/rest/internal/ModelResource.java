package dev.parley.web.rest.internal;

import jakarta.ws.rs.core.Context;
import jakarta.servlet.http.HttpServletRequest;
import dev.parley.api.chat.ChatService;
import dev.parley.web.rest.internal.RestBodies.ModelBody;
import dev.parley.web.rest.internal.RestBodies.ModelList;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/** The models every provider that is up offers. */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.rest.models")
@JSONRequired
@Path("/api/v1/models")
@Produces(MediaType.APPLICATION_JSON)
public class ModelResource {
    private final ChatService chat;

    @Activate
    public ModelResource(@Reference ChatService chat) {
        this.chat = chat;
    }

    @GET
    public ModelList models(@Context HttpServletRequest request) {
        return new ModelList(chat.as(Callers.of(request)).models().stream().map(ModelBody::of).toList());
    }
}
