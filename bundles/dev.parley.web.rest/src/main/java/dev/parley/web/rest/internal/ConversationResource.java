package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.chat.ChatService;
import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.SendMessage;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.StreamHandle;
import dev.parley.web.rest.internal.RestBodies.AcceptedEvent;
import dev.parley.web.rest.internal.RestBodies.ConversationBody;
import dev.parley.web.rest.internal.RestBodies.ConversationPage;
import dev.parley.web.rest.internal.RestBodies.DoneEvent;
import dev.parley.web.rest.internal.RestBodies.MessageBody;
import dev.parley.web.rest.internal.RestBodies.MessageList;
import dev.parley.web.rest.internal.RestBodies.NewConversationBody;
import dev.parley.web.rest.internal.RestBodies.SendMessageBody;
import dev.parley.web.rest.internal.RestBodies.TurnAnswer;
import dev.parley.web.rest.internal.StreamEvents.Accepted;
import dev.parley.web.rest.internal.StreamEvents.Event;
import dev.parley.web.rest.internal.StreamEvents.Failed;
import dev.parley.web.rest.internal.StreamEvents.Token;
import dev.parley.web.rest.internal.StreamEvents.TurnDone;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
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
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/** Native REST API: conversations and their messages, answers as JSON or as server-sent events. */
@Component(service = Object.class, configurationPid = RestConfig.PID)
@JakartarsResource
@JakartarsName("parley.rest.conversations")
@JSONRequired
@Path("/api/v1/conversations")
@Produces(MediaType.APPLICATION_JSON)
public class ConversationResource {
    private static final Logger LOG = LoggerFactory.getLogger(ConversationResource.class);

    private final ChatService chat;
    private final RestLimits limits;
    private final ObjectMapper mapper = JsonMapping.newMapper();
    private final InFlightRequests inFlight = new InFlightRequests();

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
    public Response create(NewConversationBody body, @Context UriInfo uriInfo) {
        NewConversationBody b = body == null ? new NewConversationBody(null, null, null) : body;
        Conversation created = chat.createConversation(new NewConversation(b.title(), b.model(), b.systemPrompt()));
        URI location = uriInfo.getBaseUriBuilder().path("api/v1/conversations").path(created.id()).build();
        return Response.created(location).entity(ConversationBody.of(created)).build();
    }

    @GET
    public ConversationPage list(@QueryParam("offset") String offset, @QueryParam("limit") String limit) {
        int o = intParam("offset", offset, 0, 0, Integer.MAX_VALUE);
        int l = intParam("limit", limit, limits.defaultPageSize(), 1, limits.maxPageSize());
        return ConversationPage.of(chat.conversations(o, l));
    }

    @GET
    @Path("{id}")
    public ConversationBody get(@PathParam("id") String id) {
        return chat.conversation(id).map(ConversationBody::of).orElseThrow(() -> notFound(id));
    }

    @DELETE
    @Path("{id}")
    public Response delete(@PathParam("id") String id) {
        if (!chat.deleteConversation(id)) {
            throw notFound(id);
        }
        return Response.noContent().build();
    }

    @GET
    @Path("{id}/messages")
    public MessageList messages(@PathParam("id") String id) {
        List<StoredMessage> messages = chat.messages(id);
        return new MessageList(messages.stream().map(MessageBody::of).toList());
    }

    @POST
    @Path("{id}/messages")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces({MediaType.APPLICATION_JSON, SseStream.EVENT_STREAM})
    public Response send(@PathParam("id") String id, @QueryParam("stream") String stream,
            @Context HttpHeaders headers, SendMessageBody body) throws InterruptedException {
        if (body == null || body.content() == null || body.content().isBlank()) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "Field 'content' is required and must not be blank.");
        }
        if (body.maxTokens() != null && body.maxTokens() <= 0) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "Field 'maxTokens' must be positive.");
        }
        ChatOptions options = body.temperature() == null && body.maxTokens() == null ? null
                : new ChatOptions(body.temperature(), null, body.maxTokens(), List.of());
        StreamEvents events = new StreamEvents();
        return inFlight.serve(onStreamEnd -> {
            // Validation errors are thrown here, before anything is streamed, so they become plain problems.
            StreamHandle handle = chat.send(id, new SendMessage(body.content(), body.model(), options), events);
            if (wantsStream(stream, headers)) {
                return new SseStream(events, handle, limits, mapper, ConversationResource::renderSse, onStreamEnd)
                        .response();
            }
            return Response.ok(awaitAnswer(events, handle), MediaType.APPLICATION_JSON_TYPE).build();
        });
    }

    InFlightRequests inFlight() {
        return inFlight;
    }

    /** Server shutdown: refuse new turns, let running ones finish (bounded) while core and providers are still up. */
    @Deactivate
    void deactivate() throws InterruptedException {
        InFlightRequests.drain(inFlight, limits, "conversations", LOG);
    }

    private TurnAnswer awaitAnswer(StreamEvents events, StreamHandle handle) throws InterruptedException {
        long deadline = System.nanoTime() + limits.requestTimeout().toNanos();
        MessageBody userMessage = null;
        try {
            while (true) {
                Event event = events.next(Duration.ofNanos(deadline - System.nanoTime()));
                if (event == null) {
                    handle.cancel();
                    throw new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                            "No complete answer within " + limits.requestTimeout().toSeconds() + " seconds.");
                }
                if (event instanceof Accepted a) {
                    userMessage = MessageBody.of(a.userMessage());
                } else if (event instanceof TurnDone done) {
                    return new TurnAnswer(userMessage, MessageBody.of(done.result().answer()),
                            RestBodies.finishReason(done.result().finishReason()));
                } else if (event instanceof Failed failed) {
                    throw failed.error();
                }
            }
        } catch (InterruptedException e) {
            handle.cancel();
            throw e;
        }
    }

    private static boolean renderSse(Event event, SseStream.Sink out) throws IOException {
        if (event instanceof Accepted a) {
            out.event("accepted", new AcceptedEvent(MessageBody.of(a.userMessage()), a.answerId(), a.model()));
        } else if (event instanceof Token t) {
            out.token(t.delta());
        } else if (event instanceof TurnDone done) {
            out.event("done", new DoneEvent(MessageBody.of(done.result().answer()),
                    RestBodies.finishReason(done.result().finishReason())));
            return true;
        } else if (event instanceof Failed failed) {
            out.event("error", ErrorResponses.Failure.of(failed.error()).problem());
            return true;
        }
        return false;
    }

    private static boolean wantsStream(String stream, HttpHeaders headers) {
        if (stream != null) {
            return Boolean.parseBoolean(stream);
        }
        return headers.getAcceptableMediaTypes().stream()
                .anyMatch(m -> "text".equals(m.getType()) && "event-stream".equals(m.getSubtype()));
    }

    private static int intParam(String name, String value, int dflt, int min, int max) {
        if (value == null || value.isBlank()) {
            return dflt;
        }
        try {
            int v = Integer.parseInt(value.trim());
            if (v >= min && v <= max) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below, like an out-of-range value
        }
        throw new ParleyException(ErrorCode.INVALID_REQUEST,
                "Query parameter '" + name + "' must be an integer from " + min + " to " + max + ".");
    }

    private static ParleyException notFound(String id) {
        return new ParleyException(ErrorCode.NOT_FOUND, "No conversation with id '" + id + "'.");
    }
}
