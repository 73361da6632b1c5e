package dev.parley.web.ws.internal;

/** The per-socket limits of the chat WebSocket. */
record SocketLimits(int maxInFlight, int maxTextFrameBytes, int outboundMaxFrames, long outboundMaxBytes,
        long idleTimeoutSeconds) {

    static final SocketLimits DEFAULTS = new SocketLimits(8, 262_144, 1024, 4_194_304L, 300);

    SocketLimits {
        if (maxInFlight <= 0 || maxTextFrameBytes <= 0 || outboundMaxFrames <= 0 || outboundMaxBytes <= 0
                || idleTimeoutSeconds < 0) {
            throw new IllegalArgumentException("socket limits must be positive: " + maxInFlight + ", "
                    + maxTextFrameBytes + ", " + outboundMaxFrames + ", " + outboundMaxBytes + ", "
                    + idleTimeoutSeconds);
        }
    }

    static SocketLimits from(WebSocketConfig config) {
        return new SocketLimits(config.maxInFlightPerSocket(), config.maxTextFrameBytes(),
                config.outboundMaxFrames(), config.outboundMaxBytes(), config.idleTimeoutSeconds());
    }
}
