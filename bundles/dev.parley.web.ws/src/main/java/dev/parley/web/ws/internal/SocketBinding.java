package dev.parley.web.ws.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.chat.ChatService;
import dev.parley.api.limits.RequestRateLimits;
import dev.parley.api.identity.Principal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one activation of the WebSocket component gives its sockets: the {@link ChatService} it was activated
 * with, the current limits, and the sockets it has open with the principal each was opened by (so deactivation,
 * expiry and revocation can close them).
 */
final class SocketBinding {
    private static final Logger LOG = LoggerFactory.getLogger(SocketBinding.class);

    /** Close code: the socket's credential is no longer valid (the HTTP 401 of a WebSocket). */
    static final int CLOSE_UNAUTHORIZED = 4401;
    static final String EXPIRED_REASON = "credential expired";
    static final String REVOKED_REASON = "credential revoked";

    private final ChatService chat;
    private final FrameParser parser;
    private final ServerFrames frames;
    private final ScheduledExecutorService housekeeping;
    private final Clock clock;
    /** Open sockets and their expiry timers (null for a credential that does not expire). */
    private final Map<ChatSocket, Expiry> open = new ConcurrentHashMap<>();
    private volatile SocketLimits limits;
    private volatile boolean draining;
    private volatile boolean closed;
    private volatile WsTelemetry telemetry = WsTelemetry.NOOP;
    /** The edge's request limits while there are any; each chat message takes a request from them. */
    private volatile RequestRateLimits requestLimits;

    /** A socket's timer; a record so that a socket without one still has a map value. */
    private record Expiry(ScheduledFuture<?> timer) {
        void cancel() {
            if (timer != null) {
                timer.cancel(false);
            }
        }
    }

    SocketBinding(ChatService chat, SocketLimits limits, ObjectMapper mapper, ScheduledExecutorService housekeeping,
            Clock clock) {
        this.chat = chat;
        this.limits = limits;
        this.parser = new FrameParser(mapper);
        this.frames = new ServerFrames(mapper);
        this.housekeeping = housekeeping;
        this.clock = clock;
    }

    SocketLimits limits() {
        return limits;
    }

    /** Sockets use whatever telemetry is bound when a turn starts. */
    void telemetry(WsTelemetry t) {
        telemetry = t;
    }

    /** The request limits every socket's messages count against from now on; null: none. */
    void requestLimits(RequestRateLimits limits) {
        requestLimits = limits;
    }

    RequestRateLimits requestLimits() {
        return requestLimits;
    }

    /** New limits apply to sockets opened from now on. */
    void limits(SocketLimits newLimits) {
        limits = newLimits;
    }

    /** Whether new sockets are still taken: false once the activation is shutting down. */
    boolean accepting() {
        return !draining && !closed;
    }

    /**
     * A new socket of {@code principal}, closed with {@value #CLOSE_UNAUTHORIZED} when its credential expires. Null
     * when this activation is shutting down (the caller closes the connection).
     */
    ChatSocket open(String socketId, Principal principal, OutboundQueue.Transport transport, ChatSocket.Closer closer) {
        if (!accepting()) {
            return null;
        }
        var socket = new ChatSocket(socketId, principal, chat, limits, parser, frames, transport, closer,
                housekeeping, () -> draining, this::turnEnded, () -> telemetry, () -> requestLimits);
        open.put(socket, new Expiry(null));
        Instant expiresAt = principal.expiresAt();
        if (expiresAt != null) {
            long delayMillis = Math.max(0, Duration.between(clock.instant(), expiresAt).toMillis());
            try {
                ScheduledFuture<?> timer = housekeeping.schedule(() -> expire(socket), delayMillis,
                        TimeUnit.MILLISECONDS);
                // A socket closed meanwhile is gone from the map already: then its timer has nothing to do.
                if (open.replace(socket, new Expiry(timer)) == null) {
                    timer.cancel(false);
                }
            } catch (RejectedExecutionException e) {
                // Shutting down: every socket is being closed anyway.
                socket.shutdown(ChatSocket.CLOSE_GOING_AWAY, "server shutting down");
                open.remove(socket);
                return socket;
            }
        }
        if (closed) {
            // Deactivated while this socket was being opened: closeAll may have missed it.
            socket.shutdown(ChatSocket.CLOSE_GOING_AWAY, "server shutting down");
            forget(socket);
        }
        return socket;
    }

    void closed(ChatSocket socket) {
        socket.onClosed();
        forget(socket);
    }

    int openSockets() {
        return open.size();
    }

    private void expire(ChatSocket socket) {
        if (open.containsKey(socket)) {
            LOG.info("ws credential expired, closing socket={} subject={}", socket.id(), socket.principal().subject());
            socket.shutdown(CLOSE_UNAUTHORIZED, EXPIRED_REASON);
            forget(socket);
        }
    }

    /**
     * Closes the sockets opened with a revoked credential: the one named {@code credentialId}, or, when that is empty,
     * every credential of {@code subject} (in {@code tenant}, when given). Returns how many were closed.
     */
    int revoke(String subject, String tenant, String credentialId) {
        int count = 0;
        for (ChatSocket socket : List.copyOf(open.keySet())) {
            Principal p = socket.principal();
            boolean match;
            if (credentialId != null && !credentialId.isEmpty()) {
                match = credentialId.equals(p.credentialId()) && (subject == null || subject.equals(p.subject()));
            } else {
                match = subject != null && subject.equals(p.subject()) && (tenant == null || tenant.equals(p.tenantId()));
            }
            if (match) {
                socket.shutdown(CLOSE_UNAUTHORIZED, REVOKED_REASON);
                forget(socket);
                count++;
            }
        }
        return count;
    }

    private void forget(ChatSocket socket) {
        Expiry expiry = open.remove(socket);
        if (expiry != null) {
            expiry.cancel();
        }
    }

    /**
     * Shutdown, first half: sockets refuse new turns from now on, and this waits until the turns already running
     * have ended and their last frames have left, or {@code timeout} has passed. Returns how many sockets were
     * still busy.
     */
    int drain(Duration timeout) throws InterruptedException {
        draining = true;
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            // Woken when a turn ends; the short timeout also lets the last frames (the "done") leave the queues.
            while (busySockets() > 0 && System.nanoTime() < deadline) {
                wait(Math.max(1, Math.min(50, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
            }
        }
        return busySockets();
    }

    /** Called by a socket when one of its turns ended, so {@link #drain} can stop waiting. */
    synchronized void turnEnded() {
        notifyAll();
    }

    private int busySockets() {
        return (int) open.keySet().stream().filter(ChatSocket::busy).count();
    }

    /** Closes every socket still open, cancelling their turns; no socket is opened afterwards. */
    void closeAll(int code, String reason) {
        closed = true;
        for (ChatSocket socket : List.copyOf(open.keySet())) {
            socket.shutdown(code, reason);
            forget(socket);
        }
    }
}
