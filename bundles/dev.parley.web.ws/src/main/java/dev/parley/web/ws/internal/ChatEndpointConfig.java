package dev.parley.web.ws.internal;

import jakarta.websocket.Extension;
import jakarta.websocket.server.ServerEndpointConfig;
import java.util.ArrayList;
import java.util.List;

/** The endpoint registration of the chat WebSocket, shared by the OSGi servlet and the tests. */
final class ChatEndpointConfig {
    static final String PATH = "/api/v1/chat/ws";

    private ChatEndpointConfig() {
    }

    /** A registration whose connections go wherever {@code route} points at connect time. */
    static ServerEndpointConfig create(EndpointRoute route) {
        return ServerEndpointConfig.Builder.create(ChatEndpoint.class, PATH)
                .configurator(new RoutingConfigurator(route))
                .build();
    }

    /**
     * Overrides every method the API would otherwise delegate to the container's default configurator: that
     * one is found with {@link java.util.ServiceLoader} through the thread context class loader, which in OSGi
     * depends on whichever thread happens to run the handshake.
     */
    private static final class RoutingConfigurator extends ServerEndpointConfig.Configurator {
        private final EndpointRoute route;

        RoutingConfigurator(EndpointRoute route) {
            this.route = route;
        }

        @Override
        public <T> T getEndpointInstance(Class<T> endpointClass) throws InstantiationException {
            if (endpointClass != ChatEndpoint.class) {
                throw new InstantiationException("not the chat endpoint: " + endpointClass.getName());
            }
            return endpointClass.cast(new ChatEndpoint(route.current()));
        }

        @Override
        public String getNegotiatedSubprotocol(List<String> supported, List<String> requested) {
            for (String protocol : requested) {
                if (supported.contains(protocol)) {
                    return protocol;
                }
            }
            return "";
        }

        @Override
        public List<Extension> getNegotiatedExtensions(List<Extension> installed, List<Extension> requested) {
            List<Extension> negotiated = new ArrayList<>();
            for (Extension wanted : requested) {
                for (Extension available : installed) {
                    if (available.getName().equals(wanted.getName())) {
                        negotiated.add(wanted);
                        break;
                    }
                }
            }
            return negotiated;
        }

        @Override
        public boolean checkOrigin(String originHeaderValue) {
            // Same as the container default; authentication, not the Origin header, guards the socket.
            return true;
        }
    }
}
