package dev.parley.web.rest.internal;

import jakarta.servlet.http.HttpServletRequest;
import dev.parley.api.chat.ChatService;
import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.util.List;
import dev.parley.web.rest.internal.RestBodies.ConversationBody;
import dev.parley.web.rest.internal.RestBodies.ConversationPage;
import dev.parley.web.rest.internal.RestBodies.MessageBody;
import dev.parley.web.rest.internal.RestBodies.MessageList;
import dev.parley.web.rest.internal.RestBodies.NewConversationBody;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.net.URI;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * Native REST API: conversations and their messages. Sending a message (a chat turn) is served ahead of this
 * resource by {@link TurnFilter}, in servlet async mode.
 */
@Component(service = Object.class, configurationPid = RestConfig.PID)
@JakartarsResource
@JakartarsName("parley.rest.conversations")
@JSONRequired
@Path("/api/v1/conversations")
@Produces(MediaType.APPLICATION_JSON)
public class ConversationResource {
    private final ChatService chat;
    private final RestLimits limits;

    @Activate
    public ConversationResource(@Reference ChatService chat, RestConfig config) {
        this(chat, RestLimits.from(config));
    }

    ConversationResource(ChatService chat, RestLimits limits) {
        this.chat = chat;
        this.limits = limits;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(NewConversationBody body, @Context UriInfo uriInfo, @Context HttpServletRequest request) {
        NewConversationBody b = body == null ? new NewConversationBody(null, null, null) : body;
        Conversation created = chat.as(Callers.of(request)).createConversation(new NewConversation(b.title(), b.model(), b.systemPrompt()));
        URI location = uriInfo.getBaseUriBuilder().path("api/v1/conversations").path(created.id()).build();
        return Response.created(location).entity(ConversationBody.of(created)).build();
    }

    @GET
    public ConversationPage list(@QueryParam("offset") String offset, @QueryParam("limit") String limit,
            @Context HttpServletRequest request) {
        int o = QueryParams.intParam("offset", offset, 0, 0, Integer.MAX_VALUE);
        int l = QueryParams.intParam("limit", limit, limits.defaultPageSize(), 1, limits.maxPageSize());
        return ConversationPage.of(chat.as(Callers.of(request)).conversations(o, l));
    }

    @GET
    @Path("{id}")
    public ConversationBody get(@PathParam("id") String id, @Context HttpServletRequest request) {
        return chat.as(Callers.of(request)).conversation(id).map(ConversationBody::of).orElseThrow(() -> notFound(id));
    }

    @DELETE
    @Path("{id}")
    public Response delete(@PathParam("id") String id, @Context HttpServletRequest request) {
        if (!chat.as(Callers.of(request)).deleteConversation(id)) {
            throw notFound(id);
        }
        return Response.noContent().build();
    }

    @GET
    @Path("{id}/messages")
    public MessageList messages(@PathParam("id") String id, @Context HttpServletRequest request) {
        List<StoredMessage> messages = chat.as(Callers.of(request)).messages(id);
        return new MessageList(messages.stream().map(MessageBody::of).toList());
    }

    private static ParleyException notFound(String id) {
        return new ParleyException(ErrorCode.NOT_FOUND, "No conversation with id '" + id + "'.");
    }
}
