package dev.parley.web.ws.internal;

import dev.parley.api.identity.Principal;
import jakarta.websocket.CloseReason;
import jakarta.websocket.Endpoint;
import jakarta.websocket.EndpointConfig;
import jakarta.websocket.RemoteEndpoint;
import jakarta.websocket.Session;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adapts one Jakarta WebSocket session to a {@link ChatSocket}. Instances are made by the configurator of
 * {@link ChatEndpointConfig}, one per connection, bound to the activation that accepted its handshake; the
 * connection's configuration carries the {@link Principal} verified at the handshake.
 */
public final class ChatEndpoint extends Endpoint {
    private static final Logger LOG = LoggerFactory.getLogger(ChatEndpoint.class);

    static final int CLOSE_BINARY = CloseReason.CloseCodes.CANNOT_ACCEPT.getCode();
    static final int CLOSE_UNAVAILABLE = CloseReason.CloseCodes.TRY_AGAIN_LATER.getCode();

    private final SocketBinding binding;
    private volatile ChatSocket socket;

    ChatEndpoint(SocketBinding binding) {
        this.binding = binding;
    }

    @Override
    public void onOpen(Session session, EndpointConfig config) {
        if (!(config.getUserProperties().get(ChatEndpointConfig.PRINCIPAL_PROPERTY) instanceof Principal principal)) {
            // Only the servlet's handshake makes these endpoints, always with a principal.
            close(session, SocketBinding.CLOSE_UNAUTHORIZED, "no verified credential");
            return;
        }
        SocketLimits limits = binding.limits();
        session.setMaxTextMessageBufferSize(limits.maxTextFrameBytes());
        session.setMaxIdleTimeout(TimeUnit.SECONDS.toMillis(limits.idleTimeoutSeconds()));
        RemoteEndpoint.Async remote = session.getAsyncRemote();
        ChatSocket chatSocket = binding.open(session.getId(), principal,
                (text, done) -> remote.sendText(text, result -> done.accept(result.isOK() ? null
                        : result.getException() != null ? result.getException() : new IOException("send failed"))),
                (code, reason) -> close(session, code, reason));
        if (chatSocket == null) {
            close(session, CLOSE_UNAVAILABLE, "chat service unavailable");
            return;
        }
        socket = chatSocket;
        session.addMessageHandler(String.class, chatSocket::onText);
        session.addMessageHandler(ByteBuffer.class,
                bytes -> close(session, CLOSE_BINARY, "binary frames are not supported"));
        LOG.debug("ws open socket={}", session.getId());
    }

    @Override
    public void onClose(Session session, CloseReason closeReason) {
        ChatSocket s = socket;
        if (s != null) {
            binding.closed(s);
        }
        LOG.debug("ws closed socket={} code={}", session.getId(), closeReason.getCloseCode().getCode());
    }

    @Override
    public void onError(Session session, Throwable thr) {
        // Oversized frames, idle timeouts and vanished clients land here; the container closes the session next.
        LOG.debug("ws error socket={} error={}", session.getId(), thr.toString());
    }

    /** Jetty's close only queues the close frame, so this never waits for the client. */
    private static void close(Session session, int code, String reason) {
        try {
            session.close(new CloseReason(CloseReason.CloseCodes.getCloseCode(code), reason));
        } catch (IOException | RuntimeException e) {
            LOG.debug("ws close failed socket={} error={}", session.getId(), e.toString());
        }
    }
}
