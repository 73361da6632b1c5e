package dev.parley.web.rest.internal;

import dev.parley.api.chat.ChatService;
import dev.parley.web.rest.internal.OpenAiBodies.ModelEntry;
import dev.parley.web.rest.internal.OpenAiBodies.ModelList;
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

/**
 * The OpenAI-compatible model list. The chat-completions endpoint is on the hot path and is served by
 * {@link ChatCompletionsServlet} instead (ADR 7).
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.rest.openai")
@JSONRequired
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
public class OpenAiResource {
    private final ChatService chat;

    @Activate
    public OpenAiResource(@Reference ChatService chat) {
        this.chat = chat;
    }

    @GET
    @Path("models")
    public ModelList models() {
        return new ModelList("list", chat.models().stream()
                .map(m -> new ModelEntry(m.id(), "model", 0, m.providerId())).toList());
    }
}
