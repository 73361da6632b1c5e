package dev.parley.web.ws.internal;

import io.opentelemetry.api.OpenTelemetry;

import dev.parley.api.chat.ChatService;
import dev.parley.api.limits.RequestRateLimits;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.IdentityEvents;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import jakarta.servlet.Servlet;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.websocket.DeploymentException;
import jakarta.websocket.server.ServerContainer;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventConstants;
import org.osgi.service.event.EventHandler;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletName;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chat WebSocket at {@value ChatEndpointConfig#PATH}: this servlet checks each handshake and upgrades it
 * itself through {@link ServerContainer#upgradeHttpToWebSocket} (Jakarta WebSocket 2.1). Felix HTTP exposes Jetty's
 * Jakarta {@link ServerContainer} as a servlet-context attribute (framework property
 * {@code org.apache.felix.jakarta.websocket.enable=true}).
 *
 * <p>Why not {@code ServerContainer.addEndpoint}: an endpoint added that way is upgraded by Jetty's
 * {@code WebSocketUpgradeFilter}, which sits in front of the HTTP whiteboard's dispatcher, so no whiteboard filter
 * (telemetry, the edge's authentication) ever saw the handshake, and a refusal could not be an HTTP status with a
 * problem body. Upgrading here, the handshake passes the whiteboard's filters like any request, and is refused
 * before the upgrade with 401/403/503 and a problem body. It also ends the endpoint that outlived the component:
 * when this servlet is unregistered, nothing upgrades the path.
 *
 * <p>Each handshake: {@code Origin} against the allow-list ({@link OriginPolicy}; 403, before any credential is
 * looked at); the principal the edge left in the request, or, without the edge in front, the credential checked
 * here ({@link SocketCredentials}; 401, or 503 when it cannot be checked now); {@link Permission#CHAT} (403);
 * then the upgrade, answering the subprotocol {@value SocketCredentials#PROTOCOL} when offered. The socket keeps
 * its principal and is closed with 4401 when the credential expires or an {@link IdentityEvents#REVOKED} event
 * names it.
 */
@Component(service = {Servlet.class, EventHandler.class}, configurationPid = WebSocketOriginFilter.PID,
        property = EventConstants.EVENT_TOPIC + "=" + IdentityEvents.REVOKED)
@Designate(ocd = WebSocketConfig.class)
@HttpWhiteboardServletPattern(ChatEndpointConfig.PATH)
@HttpWhiteboardServletName("parley-chat-websocket")
public class ChatWebSocketServlet extends HttpServlet implements EventHandler {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ChatWebSocketServlet.class);

    private final transient ScheduledThreadPoolExecutor housekeeping;
    private final transient SocketBinding binding;
    private final transient SocketCredentials credentials = new SocketCredentials();
    private transient volatile OriginPolicy origins;
    private transient volatile ServerContainer container;
    private transient volatile Duration drainTimeout;
    private transient WsTelemetry telemetry = WsTelemetry.NOOP;

    @Activate
    public ChatWebSocketServlet(@Reference ChatService chat, WebSocketConfig config) {
        this.housekeeping = newHousekeepingExecutor();
        this.binding = new SocketBinding(chat, SocketLimits.from(config), ServerFrames.newMapper(), housekeeping,
                Clock.systemUTC());
        this.origins = OriginPolicy.of(config.allowedOrigins());
        this.drainTimeout = Duration.ofSeconds(config.drainTimeoutSeconds());
    }

    /** Every registered authenticator, as at the edge: the first that recognizes a credential decides. */
    @Reference(service = BearerAuthenticator.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void addAuthenticator(BearerAuthenticator a) {
        credentials.add(a);
    }

    void removeAuthenticator(BearerAuthenticator a) {
        credentials.remove(a);
    }

    /** The edge's request limits (per credential, user, tenant) while they are there; chat messages count. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unsetRequestLimits")
    void setRequestLimits(RequestRateLimits limits) {
        binding.requestLimits(limits);
    }

    void unsetRequestLimits(RequestRateLimits limits) {
        if (binding.requestLimits() == limits) {
            binding.requestLimits(null);
        }
    }

    /** Traces and the open-socket gauge while the OpenTelemetry service is there; the socket works without. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void setOpenTelemetry(OpenTelemetry otel) {
        swapTelemetry(new WsTelemetry(otel, binding::openSockets));
    }

    void unsetOpenTelemetry(OpenTelemetry otel) {
        swapTelemetry(WsTelemetry.NOOP);
    }

    private synchronized void swapTelemetry(WsTelemetry next) {
        WsTelemetry previous = telemetry;
        telemetry = next;
        binding.telemetry(next);
        previous.close();
    }

    @Modified
    void modified(WebSocketConfig config) {
        binding.limits(SocketLimits.from(config));
        origins = OriginPolicy.of(config.allowedOrigins());
        drainTimeout = Duration.ofSeconds(config.drainTimeoutSeconds());
        LOG.info("ws settings updated limits={} allowedOrigins={}", binding.limits(), origins);
    }

    @Deactivate
    void deactivate() {
        // Graceful: no new turns, let running ones finish (bounded), then close the sockets.
        try {
            int busy = binding.drain(drainTimeout);
            if (busy > 0) {
                LOG.warn("ws drain timed out, closing busy sockets count={}", busy);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        binding.closeAll(ChatSocket.CLOSE_GOING_AWAY, "server shutting down");
        swapTelemetry(WsTelemetry.NOOP);
        housekeeping.shutdown();
        try {
            if (!housekeeping.awaitTermination(5, TimeUnit.SECONDS)) {
                housekeeping.shutdownNow();
            }
        } catch (InterruptedException e) {
            housekeeping.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** {@link IdentityEvents#REVOKED}: closes the sockets the revoked credential (or subject) opened. */
    @Override
    public void handleEvent(Event event) {
        String subject = event.getProperty(IdentityEvents.SUBJECT) instanceof String s ? s : null;
        String tenant = event.getProperty(IdentityEvents.TENANT) instanceof String t ? t : null;
        String credentialId = event.getProperty(IdentityEvents.CREDENTIAL_ID) instanceof String c ? c : "";
        int closed = binding.revoke(subject, tenant, credentialId);
        if (closed > 0) {
            LOG.info("ws credential revoked, closed sockets count={} subject={}", closed, subject);
        }
    }

    @Override
    public void init() throws ServletException {
        ServletContext context = getServletContext();
        if (!(context.getAttribute(ServerContainer.class.getName()) instanceof ServerContainer c)) {
            throw new ServletException("no Jakarta WebSocket container in the servlet context; is "
                    + "org.apache.felix.jakarta.websocket.enable=true set?");
        }
        container = c;
        LOG.info("ws endpoint ready path={} limits={} allowedOrigins={}", ChatEndpointConfig.PATH, binding.limits(),
                origins);
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        if (!"GET".equals(req.getMethod()) || !"websocket".equalsIgnoreCase(req.getHeader("Upgrade"))) {
            resp.setHeader("Upgrade", "websocket");
            resp.setHeader("Connection", "Upgrade");
            HandshakeRefusal.write(resp, 426, "Upgrade required", ErrorCode.INVALID_REQUEST,
                    "this endpoint speaks WebSocket only", null);
            return;
        }
        String origin = req.getHeader("Origin");
        if (!origins.allows(origin, req.getHeader("Host"))) {
            LOG.debug("ws handshake refused, origin not allowed origin={}", origin);
            HandshakeRefusal.write(resp, new ParleyException(ErrorCode.FORBIDDEN, "Pages from this origin may not "
                    + "open the chat WebSocket (the server's allowed origins do not include it)."));
            return;
        }
        Principal principal;
        try {
            principal = req.getAttribute(Principal.REQUEST_ATTRIBUTE) instanceof Principal fromEdge ? fromEdge
                    : credentials.authenticate(SocketCredentials.credential(req));
        } catch (ParleyException e) {
            HandshakeRefusal.write(resp, e);
            return;
        } catch (RuntimeException e) {
            LOG.error("Checking the credential of a WebSocket handshake failed", e);
            HandshakeRefusal.write(resp, new ParleyException(ErrorCode.UNAVAILABLE,
                    "The credential could not be checked now; try again.", Duration.ofSeconds(5), e));
            return;
        }
        if (!principal.can(Permission.CHAT)) {
            HandshakeRefusal.write(resp, new ParleyException(ErrorCode.FORBIDDEN, "The chat WebSocket needs the "
                    + "permission '" + Permission.CHAT.slug() + "'; this credential's roles or scopes do not grant it."));
            return;
        }
        ServerContainer c = container;
        if (c == null || !binding.accepting()) {
            HandshakeRefusal.write(resp, new ParleyException(ErrorCode.UNAVAILABLE,
                    "The chat WebSocket is not taking new connections now; try again.", Duration.ofSeconds(1), null));
            return;
        }
        try {
            c.upgradeHttpToWebSocket(req, resp, ChatEndpointConfig.create(binding, principal), Map.of());
        } catch (IllegalStateException e) {
            // Jetty's answer to a request that is not a WebSocket handshake it can take (e.g. no version 13).
            LOG.debug("ws handshake refused error={}", e.toString());
            resp.setHeader("Sec-WebSocket-Version", "13");
            HandshakeRefusal.write(resp, new ParleyException(ErrorCode.INVALID_REQUEST,
                    "Not a valid WebSocket handshake (RFC 6455, version 13)."));
        } catch (DeploymentException e) {
            LOG.error("ws upgrade failed", e);
            HandshakeRefusal.write(resp, new ParleyException(ErrorCode.INTERNAL, "The WebSocket upgrade failed."));
        }
    }

    private static ScheduledThreadPoolExecutor newHousekeepingExecutor() {
        var counter = new AtomicInteger();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "parley-ws-housekeeping-" + counter.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        // Cancellations, closes after an overflow, and one timer per socket whose credential expires.
        var executor = new ScheduledThreadPoolExecutor(2, threads);
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        executor.setKeepAliveTime(30, TimeUnit.SECONDS);
        executor.allowCoreThreadTimeOut(true);
        return executor;
    }
}
