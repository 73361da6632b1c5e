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
 * it, serving the real {@link ChatWebSocketServlet}: its {@code init()} registers the endpoint through the
 * {@code ServerContainer} context attribute, as in the framework.
 */
final class WsTestServer implements AutoCloseable {
    private final Server server = new Server();
    private final ChatWebSocketServlet servlet;
    private final ServletContextHandler context;
    private final ServerConnector connector;

    WsTestServer(ChatService chat, SocketLimits limits) throws Exception {
        connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        context = new ServletContextHandler("/");
        JakartaWebSocketServletContainerInitializer.configure(context, null);
        servlet = new ChatWebSocketServlet(chat, config(limits));
        var holder = new ServletHolder("parley-chat-websocket", servlet);
        holder.setInitOrder(1);
        context.addServlet(holder, ChatEndpointConfig.PATH);
        server.setHandler(context);
        server.start();
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
        return new WebSocketConfig() {
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
