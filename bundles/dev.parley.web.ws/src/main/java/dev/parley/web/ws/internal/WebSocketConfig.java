package dev.parley.web.ws.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(id = "dev.parley.web.ws", name = "Parley chat WebSocket",
        description = "The chat WebSocket at /api/v1/chat/ws: which pages may open it, and its limits. Changes apply to "
                + "sockets opened afterwards.")
@interface WebSocketConfig {

    @AttributeDefinition(name = "Allowed origins",
            description = "Web pages (the Origin header a browser sends) that may open the socket besides the server's "
                    + "own origin: scheme://host or scheme://host:port, a port of * for any port, or * alone for every "
                    + "origin. A request without an Origin header (a program, not a browser) is always allowed; any "
                    + "other origin is refused with 403 before its credential is looked at.")
    String[] allowedOrigins() default {"http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"};

    @AttributeDefinition(name = "Turns in flight per socket", min = "1",
            description = "How many send requests one socket may have running at once; more are refused.")
    int maxInFlightPerSocket() default 8;

    @AttributeDefinition(name = "Largest text frame (bytes)", min = "1",
            description = "A larger client message closes the socket with 1009.")
    int maxTextFrameBytes() default 262_144;

    @AttributeDefinition(name = "Outbound buffer (frames)", min = "1",
            description = "Frames queued for a client that does not read before its socket is closed with 1008.")
    int outboundMaxFrames() default 1024;

    @AttributeDefinition(name = "Outbound buffer (bytes)", min = "1",
            description = "Bytes queued for a client that does not read before its socket is closed with 1008.")
    long outboundMaxBytes() default 4_194_304L;

    @AttributeDefinition(name = "Idle timeout (seconds)", min = "0",
            description = "A socket with no traffic for this long is closed; 0 means never.")
    long idleTimeoutSeconds() default 300;

    @AttributeDefinition(name = "Drain timeout (seconds)", min = "0",
            description = "On shutdown, how long running turns may take to finish before their sockets are closed.")
    int drainTimeoutSeconds() default 25;
}
