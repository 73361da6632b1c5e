package dev.parley.web.ws.internal;

import io.opentelemetry.api.OpenTelemetry;

import dev.parley.api.chat.ChatService;
import jakarta.servlet.Servlet;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.websocket.DeploymentException;
import jakarta.websocket.server.ServerContainer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
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
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletName;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers the chat WebSocket at {@value ChatEndpointConfig#PATH}. Felix HTTP exposes Jetty's Jakarta
 * {@link ServerContainer} as a servlet-context attribute (framework property
 * {@code org.apache.felix.jakarta.websocket.enable=true}); a whiteboard servlet's {@link #init()} is the hook
 * that sees that context. Felix HTTP calls {@code init()} when it registers the servlet, not on the first
 * request, so the endpoint is there as soon as the component is. Upgrade requests never reach this servlet
 * (Jetty's upgrade filter takes them first); a plain request to the path gets 426.
 *
 * <p><b>Limitation:</b> Jakarta WebSocket cannot remove an endpoint. The registration therefore outlives this
 * component and routes new connections through an {@link EndpointRoute} kept in the servlet context: each
 * activation binds its {@link SocketBinding} (with its own {@link ChatService}) to that route, and
 * deactivation unbinds it (connections made meanwhile are closed with 1013 "try again later"). Jetty 12
 * replaces a mapping registered twice; a container that refuses a second {@code addEndpoint} for the path
 * keeps serving the earlier registration, which the route re-points. After an update of this bundle the old
 * route's class is not ours any more: Jetty's replace still works, other containers need an HTTP restart.
 */
@Component(service = Servlet.class, configurationPid = "dev.parley.web.ws")
@Designate(ocd = WebSocketConfig.class)
@HttpWhiteboardServletPattern(ChatEndpointConfig.PATH)
@HttpWhiteboardServletName("parley-chat-websocket")
public class ChatWebSocketServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ChatWebSocketServlet.class);

    /** Servlet-context attribute holding the {@link EndpointRoute} of the registered endpoint. */
    static final String ROUTE_ATTRIBUTE = "dev.parley.web.ws.route";

    private final transient ExecutorService housekeeping;
    private final transient SocketBinding binding;
    private transient volatile EndpointRoute route;
    private transient volatile Duration drainTimeout;
    private transient WsTelemetry telemetry = WsTelemetry.NOOP;

    @Activate
    public ChatWebSocketServlet(@Reference ChatService chat, WebSocketConfig config) {
        this.housekeeping = newHousekeepingExecutor();
        this.binding = new SocketBinding(chat, SocketLimits.from(config), ServerFrames.newMapper(), housekeeping);
        this.drainTimeout = Duration.ofSeconds(config.drainTimeoutSeconds());
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
        drainTimeout = Duration.ofSeconds(config.drainTimeoutSeconds());
        LOG.info("ws limits updated limits={}", binding.limits());
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

    @Override
    public void init() throws ServletException {
        ServletContext context = getServletContext();
        Object attribute = context.getAttribute(ServerContainer.class.getName());
        if (!(attribute instanceof ServerContainer container)) {
            throw new ServletException("no Jakarta WebSocket container in the servlet context; is "
                    + "org.apache.felix.jakarta.websocket.enable=true set?");
        }
        EndpointRoute existing = context.getAttribute(ROUTE_ATTRIBUTE) instanceof EndpointRoute r ? r : null;
        EndpointRoute target = existing != null ? existing : new EndpointRoute();
        target.bind(binding);
        try {
            container.addEndpoint(ChatEndpointConfig.create(target));
        } catch (DeploymentException e) {
            if (existing == null) {
                target.unbind(binding);
                throw new ServletException("cannot register the chat WebSocket at " + ChatEndpointConfig.PATH, e);
            }
            LOG.debug("ws endpoint already registered, re-pointed its route error={}", e.toString());
        }
        context.setAttribute(ROUTE_ATTRIBUTE, target);
        route = target;
        LOG.info("ws endpoint ready path={} limits={}", ChatEndpointConfig.PATH, binding.limits());
    }

    @Override
    public void destroy() {
        EndpointRoute r = route;
        if (r != null) {
            r.unbind(binding);
        }
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        resp.setStatus(426);
        resp.setHeader("Upgrade", "websocket");
        resp.setHeader("Connection", "Upgrade");
        resp.setContentType("application/problem+json");
        resp.setCharacterEncoding(StandardCharsets.UTF_8.name());
        resp.getWriter().write("{\"type\":\"https://parley.dev/problems/invalid-request\",\"title\":\"Upgrade required\","
                + "\"status\":426,\"detail\":\"this endpoint speaks WebSocket only\",\"code\":\"invalid-request\"}");
    }

    private static ExecutorService newHousekeepingExecutor() {
        var counter = new AtomicInteger();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "parley-ws-housekeeping-" + counter.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        var executor = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), threads);
        executor.allowCoreThreadTimeOut(true);
        return executor;
    }
}
