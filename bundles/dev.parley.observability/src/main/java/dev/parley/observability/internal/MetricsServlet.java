package dev.parley.observability.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;

import jakarta.servlet.Servlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletName;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletPattern;

/**
 * {@code GET /metrics}: every metric in Prometheus text format, or OpenMetrics when the scraper asks for it
 * ({@code Accept: application/openmetrics-text}). Who may read it is its own setting ({@link ObservabilityConfig}).
 */
@Component(service = Servlet.class, configurationPid = ObservabilityConfig.PID)
@Designate(ocd = ObservabilityConfig.class)
@HttpWhiteboardServletPattern("/metrics")
@HttpWhiteboardServletName("parley-metrics")
public final class MetricsServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    static final String PRIVATE_TOKEN = ".metricsToken";

    private final transient TelemetrySdk telemetry;
    private volatile MetricsAccess access;

    @Activate
    public MetricsServlet(@Reference TelemetrySdk telemetry, ObservabilityConfig config, Map<String, Object> props) {
        this.telemetry = telemetry;
        this.access = MetricsAccess.of(config, props);
    }

    @Modified
    void modified(ObservabilityConfig config, Map<String, Object> props) {
        this.access = MetricsAccess.of(config, props);
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        MetricsAccess.Verdict verdict = access.check(req.getRemoteAddr(), req.getHeader("Authorization"));
        if (verdict != MetricsAccess.Verdict.ALLOWED) {
            refuse(resp, verdict);
            return;
        }
        TelemetrySdk.Scrape scrape = telemetry.scrape(req.getHeader("Accept"));
        resp.setStatus(200);
        resp.setContentType(scrape.contentType());
        resp.setHeader("Cache-Control", "no-store");
        resp.setContentLength(scrape.body().length);
        resp.getOutputStream().write(scrape.body());
    }

    private static void refuse(HttpServletResponse resp, MetricsAccess.Verdict verdict) throws IOException {
        boolean unauthorized = verdict == MetricsAccess.Verdict.TOKEN_MISSING
                || verdict == MetricsAccess.Verdict.TOKEN_WRONG;
        int status = unauthorized ? 401 : 403;
        String code = unauthorized ? "unauthorized" : "forbidden";
        String detail = switch (verdict) {
            case TOKEN_MISSING -> "GET /metrics needs 'Authorization: Bearer <metrics token>'.";
            case TOKEN_WRONG -> "The metrics token is wrong.";
            case NOT_LOOPBACK -> "GET /metrics answers callers on this machine only; set PARLEY_METRICS_TOKEN and "
                    + "send it as a bearer token, or set PARLEY_METRICS_ACCESS=open.";
            default -> "GET /metrics is refused.";
        };
        resp.setStatus(status);
        if (unauthorized) {
            resp.setHeader("WWW-Authenticate", "Bearer realm=\"parley-metrics\"");
        }
        resp.setContentType("application/problem+json");
        byte[] body = ("{\"type\":\"https://parley.dev/problems/" + code + "\",\"title\":\"" + code + "\",\"status\":"
                + status + ",\"code\":\"" + code + "\",\"detail\":\"" + detail + "\"}")
                .getBytes(StandardCharsets.UTF_8);
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }

    /** The access rule, apart from the servlet so it can be tested on its own. */
    record MetricsAccess(String mode, byte[] token) {
        enum Verdict { ALLOWED, NOT_LOOPBACK, TOKEN_MISSING, TOKEN_WRONG }

        /** {@code .metricsToken} (kept out of the service registry by its dot) wins over {@code metricsToken}. */
        static MetricsAccess of(ObservabilityConfig config, Map<String, Object> props) {
            String mode = config.metricsAccess() == null ? "loopback"
                    : config.metricsAccess().trim().toLowerCase(java.util.Locale.ROOT);
            if (!mode.equals("open") && !mode.equals("token")) {
                mode = "loopback";
            }
            Object hidden = props == null ? null : props.get(PRIVATE_TOKEN);
            String t = hidden instanceof String h && !h.isBlank() ? h : config.metricsToken();
            return new MetricsAccess(mode, t == null || t.isBlank() ? null : t.trim().getBytes(StandardCharsets.UTF_8));
        }

        Verdict check(String remoteAddress, String authorization) {
            if (mode.equals("open")) {
                return Verdict.ALLOWED;
            }
            String presented = authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
                    ? authorization.substring(7).trim() : null;
            if (presented != null && token != null) {
                // Constant-time compare: the token is a credential.
                return MessageDigest.isEqual(token, presented.getBytes(StandardCharsets.UTF_8)) ? Verdict.ALLOWED
                        : Verdict.TOKEN_WRONG;
            }
            if (mode.equals("token")) {
                return presented == null ? Verdict.TOKEN_MISSING : Verdict.TOKEN_WRONG;
            }
            return loopback(remoteAddress) ? Verdict.ALLOWED : Verdict.NOT_LOOPBACK;
        }

        private static boolean loopback(String address) {
            if (address == null) {
                return false;
            }
            try {
                // A literal address: no name lookup happens.
                return InetAddress.getByName(address).isLoopbackAddress();
            } catch (UnknownHostException e) {
                return false;
            }
        }
    }
}
