package dev.parley.web.ws.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.chat.ChatService;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * What one activation of the WebSocket component gives its sockets: the {@link ChatService} it was activated
 * with, the current limits, and the sockets it has open (so deactivation can close them).
 */
final class SocketBinding {
    private final ChatService chat;
    private final FrameParser parser;
    private final ServerFrames frames;
    private final Executor housekeeping;
    private final Set<ChatSocket> open = ConcurrentHashMap.newKeySet();
    private volatile SocketLimits limits;
    private volatile boolean draining;
    private volatile WsTelemetry telemetry = WsTelemetry.NOOP;

    SocketBinding(ChatService chat, SocketLimits limits, ObjectMapper mapper, Executor housekeeping) {
        this.chat = chat;
        this.limits = limits;
        this.parser = new FrameParser(mapper);
        this.frames = new ServerFrames(mapper);
        this.housekeeping = housekeeping;
    }

    SocketLimits limits() {
        return limits;
    }

    /** Sockets use whatever telemetry is bound when a turn starts. */
    void telemetry(WsTelemetry t) {
        telemetry = t;
    }

    /** New limits apply to sockets opened from now on. */
    void limits(SocketLimits newLimits) {
        limits = newLimits;
    }

    ChatSocket open(String socketId, OutboundQueue.Transport transport, ChatSocket.Closer closer) {
        var socket = new ChatSocket(socketId, chat, limits, parser, frames, transport, closer, housekeeping,
                () -> draining, this::turnEnded, () -> telemetry);
        open.add(socket);
        return socket;
    }

    void closed(ChatSocket socket) {
        socket.onClosed();
        open.remove(socket);
    }

    int openSockets() {
        return open.size();
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
        return (int) open.stream().filter(ChatSocket::busy).count();
    }

    /** Closes every socket still open, cancelling their turns. */
    void closeAll(int code, String reason) {
        for (ChatSocket socket : List.copyOf(open)) {
            socket.shutdown(code, reason);
            open.remove(socket);
        }
    }
}
