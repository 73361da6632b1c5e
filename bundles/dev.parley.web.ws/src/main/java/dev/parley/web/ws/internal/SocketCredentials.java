package dev.parley.web.ws.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Principal;
import jakarta.servlet.http.HttpServletRequest;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The credential of a WebSocket handshake and its check, done the way the HTTP edge does it: the first registered
 * {@link BearerAuthenticator} that recognizes the credential decides.
 *
 * <p>The credential comes as {@code Authorization: Bearer <credential>} (programs) or as a
 * {@code Sec-WebSocket-Protocol} entry {@value #BEARER_PROTOCOL_PREFIX}{@code <credential>} (browsers cannot set
 * headers on a WebSocket); never as a URL query parameter, since URLs end up in logs.
 */
final class SocketCredentials {
    /** The subprotocol the chat frames are; the server answers with it when the client offers it. */
    static final String PROTOCOL = "parley.v1";
    static final String BEARER_PROTOCOL_PREFIX = "parley.bearer.";
    /** Longer credentials are refused without asking any authenticator (as at the edge). */
    static final int MAX_CREDENTIAL_CHARS = 7_168;
    private static final String BEARER = "Bearer ";

    private final List<BearerAuthenticator> authenticators = new CopyOnWriteArrayList<>();

    void add(BearerAuthenticator a) {
        authenticators.add(a);
    }

    void remove(BearerAuthenticator a) {
        authenticators.remove(a);
    }

    /** The verified principal of {@code credential}; {@link ParleyException} UNAUTHORIZED or UNAVAILABLE if none. */
    Principal authenticate(String credential) {
        if (credential == null) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "The chat WebSocket needs a credential: 'Authorization: "
                    + "Bearer <credential>', or a Sec-WebSocket-Protocol entry '" + BEARER_PROTOCOL_PREFIX
                    + "<credential>' (browsers) together with '" + PROTOCOL + "'.");
        }
        if (credential.isEmpty()) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "The credential is empty.");
        }
        if (credential.length() > MAX_CREDENTIAL_CHARS) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED,
                    "The credential is longer than " + MAX_CREDENTIAL_CHARS + " characters.");
        }
        for (BearerAuthenticator a : authenticators) {
            if (a.recognizes(credential)) {
                Principal p = a.authenticate(credential);
                if (p == null) {
                    throw new IllegalStateException(a.getClass().getName() + " returned no principal");
                }
                return p;
            }
        }
        throw new ParleyException(ErrorCode.UNAUTHORIZED, "The credential is not one this server accepts: an API "
                + "key, a Parley access token, or a token of a configured OpenID Connect issuer.");
    }

    /** The credential the handshake carries, or null when it carries none. */
    static String credential(HttpServletRequest request) {
        String authorization = request.getHeader("Authorization");
        if (authorization != null) {
            if (!authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
                throw new ParleyException(ErrorCode.UNAUTHORIZED,
                        "Only 'Authorization: Bearer <credential>' is accepted.");
            }
            return authorization.substring(BEARER.length()).strip();
        }
        for (String protocol : offeredProtocols(request)) {
            if (protocol.startsWith(BEARER_PROTOCOL_PREFIX)) {
                return protocol.substring(BEARER_PROTOCOL_PREFIX.length());
            }
        }
        return null;
    }

    /** Every {@code Sec-WebSocket-Protocol} entry of the request, in order, trimmed. */
    static List<String> offeredProtocols(HttpServletRequest request) {
        List<String> offered = new ArrayList<>();
        Enumeration<String> headers = request.getHeaders("Sec-WebSocket-Protocol");
        while (headers != null && headers.hasMoreElements()) {
            for (String protocol : headers.nextElement().split(",")) {
                String p = protocol.strip();
                if (!p.isEmpty()) {
                    offered.add(p);
                }
            }
        }
        return offered;
    }
}
