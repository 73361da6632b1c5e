package dev.parley.web.ws.internal;

import dev.parley.api.identity.Principal;
import jakarta.websocket.Extension;
import jakarta.websocket.server.ServerEndpointConfig;
import java.util.ArrayList;
import java.util.List;

/** The endpoint configuration of one chat WebSocket connection, made by the servlet for each accepted handshake. */
final class ChatEndpointConfig {
    static final String PATH = "/api/v1/chat/ws";
    /** User property of the connection's endpoint configuration: the verified {@link Principal} of the socket. */
    static final String PRINCIPAL_PROPERTY = Principal.REQUEST_ATTRIBUTE;

    private ChatEndpointConfig() {
    }

    /** A configuration whose connection is served by {@code binding} on behalf of {@code principal}. */
    static ServerEndpointConfig create(SocketBinding binding, Principal principal) {
        ServerEndpointConfig config = ServerEndpointConfig.Builder.create(ChatEndpoint.class, PATH)
                .subprotocols(List.of(SocketCredentials.PROTOCOL))
                .configurator(new ConnectionConfigurator(binding))
                .build();
        config.getUserProperties().put(PRINCIPAL_PROPERTY, principal);
        return config;
    }

    /**
     * Overrides every method the API would otherwise delegate to the container's default configurator: that
     * one is found with {@link java.util.ServiceLoader} through the thread context class loader, which in OSGi
     * depends on whichever thread happens to run the handshake.
     */
    private static final class ConnectionConfigurator extends ServerEndpointConfig.Configurator {
        private final SocketBinding binding;

        ConnectionConfigurator(SocketBinding binding) {
            this.binding = binding;
        }

        @Override
        public <T> T getEndpointInstance(Class<T> endpointClass) throws InstantiationException {
            if (endpointClass != ChatEndpoint.class) {
                throw new InstantiationException("not the chat endpoint: " + endpointClass.getName());
            }
            return endpointClass.cast(new ChatEndpoint(binding));
        }

        /**
         * {@value SocketCredentials#PROTOCOL} when offered, else none; never a {@code parley.bearer.} entry (the
         * credential must not be echoed back). A browser that offered protocols fails the handshake when the server
         * selects none, so browsers offer {@value SocketCredentials#PROTOCOL} beside their credential.
         */
        @Override
        public String getNegotiatedSubprotocol(List<String> supported, List<String> requested) {
            for (String protocol : requested) {
                if (supported.contains(protocol) && !protocol.startsWith(SocketCredentials.BEARER_PROTOCOL_PREFIX)) {
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
            // Checked by the servlet before the handshake gets here, against the Host too (which this cannot see).
            return true;
        }
    }
}
