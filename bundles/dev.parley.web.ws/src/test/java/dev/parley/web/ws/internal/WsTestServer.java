package dev.parley.web.ws.internal;

import dev.parley.api.chat.ChatService;
import java.lang.annotation.Annotation;
import java.net.URI;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.ee10.websocket.jakarta.server.config.JakartaWebSocketServletContainerInitializer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A standalone Jetty 12 (the line Felix HTTP embeds) with Jakarta WebSocket enabled the way Felix HTTP enables
 * it, serving the real {@link ChatWebSocketServlet} (which upgrades through the {@code ServerContainer} context
 * attribute, as in the framework) with {@link TestCredentials} as its only authenticator. No edge filter is in
 * front, so the servlet checks credentials itself. Requests reach the servlet through a dispatcher that, like the
 * HTTP whiteboard's, serves whichever servlet instance is registered now ({@link #swap}).
 */
final class WsTestServer implements AutoCloseable {
    private final Server server = new Server();
    private final ChatWebSocketServlet servlet;
    private final ServletContextHandler context;
    private final ServerConnector connector;
    final TestCredentials credentials = new TestCredentials();
    private volatile ChatWebSocketServlet current;

    WsTestServer(ChatService chat, SocketLimits limits) throws Exception {
        this(chat, config(limits));
    }

    WsTestServer(ChatService chat, WebSocketConfig config) throws Exception {
        connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        context = new ServletContextHandler("/");
        JakartaWebSocketServletContainerInitializer.configure(context, null);
        servlet = newServlet(chat, config);
        current = servlet;
        var holder = new ServletHolder("parley-chat-websocket", new Dispatcher());
        holder.setInitOrder(1);
        context.addServlet(holder, ChatEndpointConfig.PATH);
        server.setHandler(context);
        server.start();
    }

    /** A servlet as DS would make it, with this server's test authenticator bound. */
    ChatWebSocketServlet newServlet(ChatService chat, WebSocketConfig config) {
        var s = new ChatWebSocketServlet(chat, config);
        s.addAuthenticator(credentials);
        return s;
    }

    /** What the whiteboard does when the component is activated again: requests go to {@code next} from now on. */
    void swap(ChatWebSocketServlet next) {
        current = next;
    }

    /** Serves the current servlet, as the whiteboard's dispatcher does. */
    private final class Dispatcher extends jakarta.servlet.http.HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        public void init() throws jakarta.servlet.ServletException {
            current.init(getServletConfig());
        }

        @Override
        protected void service(jakarta.servlet.http.HttpServletRequest req, jakarta.servlet.http.HttpServletResponse resp)
                throws jakarta.servlet.ServletException, java.io.IOException {
            current.service(req, resp);
        }
    }

    URI uri() {
        return URI.create("ws://127.0.0.1:" + connector.getLocalPort() + ChatEndpointConfig.PATH);
    }

    URI httpUri() {
        return URI.create("http://127.0.0.1:" + connector.getLocalPort() + ChatEndpointConfig.PATH);
    }

    ChatWebSocketServlet servlet() {
        return servlet;
    }

    jakarta.servlet.ServletContext servletContext() {
        return context.getServletContext();
    }

    @Override
    public void close() throws Exception {
        try {
            servlet.deactivate();
        } finally {
            server.stop();
        }
    }

    static WebSocketConfig config(SocketLimits limits) {
        return config(limits, 0);
    }

    static WebSocketConfig config(SocketLimits limits, int drainSeconds) {
        return config(limits, drainSeconds, new String[] {"http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"});
    }

    static WebSocketConfig config(SocketLimits limits, int drainSeconds, String[] allowedOrigins) {
        return new WebSocketConfig() {
            @Override
            public String[] allowedOrigins() {
                return allowedOrigins.clone();
            }

            @Override
            public int drainTimeoutSeconds() {
                return drainSeconds;
            }

            @Override
            public Class<? extends Annotation> annotationType() {
                return WebSocketConfig.class;
            }

            @Override
            public int maxInFlightPerSocket() {
                return limits.maxInFlight();
            }

            @Override
            public int maxTextFrameBytes() {
                return limits.maxTextFrameBytes();
            }

            @Override
            public int outboundMaxFrames() {
                return limits.outboundMaxFrames();
            }

            @Override
            public long outboundMaxBytes() {
                return limits.outboundMaxBytes();
            }

            @Override
            public long idleTimeoutSeconds() {
                return limits.idleTimeoutSeconds();
            }
        };
    }
}
