package dev.parley.web.rest.internal;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Pattern;
import org.eclipse.jetty.util.InetAddressSet;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterAsyncSupported;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterName;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's address behind trusted proxies: when the peer is one of them, {@code getRemoteAddr()} of the request is
 * the rightmost {@code X-Forwarded-For} address that is not a trusted proxy (addresses left of it were written by the
 * client and prove nothing). Runs before every other filter, so the telemetry, the edge, the rate limits, sign-in
 * and the audit trail all see the same address. With no proxy configured, nothing is read.
 */
@Component(service = Filter.class, configurationPid = TrustedProxiesConfig.PID,
        property = "service.ranking:Integer=" + Integer.MAX_VALUE)
@Designate(ocd = TrustedProxiesConfig.class)
@HttpWhiteboardFilterPattern("/*")
@HttpWhiteboardFilterName("parley-forwarded-for")
@HttpWhiteboardFilterAsyncSupported
public class ForwardedForFilter implements Filter {
    static final String HEADER = "X-Forwarded-For";
    private static final Logger LOG = LoggerFactory.getLogger(ForwardedForFilter.class);
    /** Address literals only: {@code InetAddress} would look a name up in DNS. */
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}(/\\d{1,2})?");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(/\\d{1,3})?");

    private volatile InetAddressSet proxies;

    @Activate
    public ForwardedForFilter(TrustedProxiesConfig config) {
        modified(config);
    }

    ForwardedForFilter(List<String> proxies) {
        this.proxies = parse(proxies);
    }

    @Modified
    void modified(TrustedProxiesConfig config) {
        proxies = parse(config.trustedProxies() == null ? List.of() : List.of(config.trustedProxies()));
    }

    /** The trusted set, or null when none is configured; an entry that is not an address or network is skipped. */
    static InetAddressSet parse(List<String> entries) {
        InetAddressSet set = new InetAddressSet();
        List<String> used = new ArrayList<>();
        for (String raw : entries) {
            String e = raw == null ? "" : raw.strip();
            if (e.isEmpty()) {
                continue;
            }
            if (!(IPV4.matcher(e).matches() || IPV6.matcher(e).matches())) {
                LOG.error("event=trusted_proxy_invalid entry=\"{}\" hint=\"an IP address or a network in CIDR form, "
                        + "e.g. 10.0.0.0/8; names are not accepted\"", e);
                continue;
            }
            try {
                set.add(e);
                used.add(e);
            } catch (RuntimeException x) {
                LOG.error("event=trusted_proxy_invalid entry=\"{}\" reason=\"{}\"", e, x.getMessage());
            }
        }
        if (!used.isEmpty()) {
            LOG.info("event=trusted_proxies proxies=\"{}\"", String.join(",", used));
        }
        return used.isEmpty() ? null : set;
    }

    @Override
    public void doFilter(ServletRequest req, ServletResponse resp, FilterChain chain)
            throws IOException, ServletException {
        InetAddressSet trusted = proxies;
        if (trusted != null && req instanceof HttpServletRequest http && isTrusted(trusted, http.getRemoteAddr())) {
            String client = client(trusted, http.getRemoteAddr(), Collections.list(http.getHeaders(HEADER)));
            if (!client.equals(http.getRemoteAddr())) {
                chain.doFilter(new HttpServletRequestWrapper(http) {
                    @Override
                    public String getRemoteAddr() {
                        return client;
                    }

                    @Override
                    public String getRemoteHost() {
                        return client;
                    }
                }, resp);
                return;
            }
        }
        chain.doFilter(req, resp);
    }

    /**
     * From the right: trusted proxies are skipped, the first other address is the client. An entry that is not an
     * address literal ends the walk at the last trusted hop (what wrote it cannot be trusted to have written the rest).
     */
    static String client(InetAddressSet trusted, String peer, List<String> headers) {
        List<String> hops = new ArrayList<>();
        for (String h : headers) {
            for (String part : h.split(",")) {
                hops.add(part.strip());
            }
        }
        String candidate = peer;
        for (int i = hops.size() - 1; i >= 0; i--) {
            String hop = hops.get(i);
            if (hop.startsWith("[") && hop.endsWith("]")) {
                hop = hop.substring(1, hop.length() - 1);
            }
            InetAddress address = literal(hop);
            if (address == null) {
                break;
            }
            candidate = address.getHostAddress();
            if (!trusted.test(address)) {
                break;
            }
        }
        return candidate;
    }

    private static boolean isTrusted(InetAddressSet trusted, String address) {
        InetAddress a = literal(address);
        return a != null && trusted.test(a);
    }

    /** The address an address literal names, or null when it is none (never a DNS look-up). */
    static InetAddress literal(String s) {
        if (s == null || s.contains("/") || !(IPV4.matcher(s).matches() || IPV6.matcher(s).matches())) {
            return null;
        }
        try {
            return InetAddress.getByName(s);
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
