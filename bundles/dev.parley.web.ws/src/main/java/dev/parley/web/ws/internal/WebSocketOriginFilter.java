package dev.parley.web.ws.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterName;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterPattern;

/**
 * Refuses a chat WebSocket handshake from a page whose {@code Origin} is not allowed (403) before the edge looks at
 * its credential: ranked between the telemetry filter and the edge's authentication. The servlet checks again, for
 * when it runs without this filter.
 */
@Component(service = Filter.class, configurationPid = WebSocketOriginFilter.PID,
        property = "service.ranking:Integer=" + WebSocketOriginFilter.RANKING)
@HttpWhiteboardFilterPattern(ChatEndpointConfig.PATH)
@HttpWhiteboardFilterName("parley-chat-websocket-origin")
public class WebSocketOriginFilter implements Filter {
    static final String PID = "dev.parley.web.ws";
    /** Below the telemetry filter (2147483000), above the edge's authentication (2147482000). */
    static final int RANKING = 2_147_482_500;

    private volatile OriginPolicy origins;

    @Activate
    public WebSocketOriginFilter(WebSocketConfig config) {
        origins = OriginPolicy.of(config.allowedOrigins());
    }

    @Modified
    void modified(WebSocketConfig config) {
        origins = OriginPolicy.of(config.allowedOrigins());
    }

    @Override
    public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
            throws IOException, ServletException {
        HttpServletRequest request = (HttpServletRequest) req;
        if (!origins.allows(request.getHeader("Origin"), request.getHeader("Host"))) {
            HandshakeRefusal.write((HttpServletResponse) res, new ParleyException(ErrorCode.FORBIDDEN, "Pages from "
                    + "this origin may not open the chat WebSocket (the server's allowed origins do not include it)."));
            return;
        }
        chain.doFilter(req, res);
    }
}
