package dev.parley.web.rest.internal;

import dev.parley.web.rest.internal.RestBodies.Live;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * Liveness: answers whenever the HTTP stack runs. Deliberately depends on nothing else, so a missing provider,
 * store or core never gets the process restarted; readiness covers those.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.rest.health.live")
@JSONRequired
@Path("/health/live")
@Produces(MediaType.APPLICATION_JSON)
public class LivenessResource {
    @GET
    public Live live() {
        return new Live("UP");
    }
}
