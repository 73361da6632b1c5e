package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.servlet.ServletRequest;
import jakarta.servlet.http.HttpServletRequest;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.eclipse.jetty.util.InetAddressSet;
import org.junit.jupiter.api.Test;

class ForwardedForFilterTest {
    private static final InetAddressSet PROXIES = ForwardedForFilter.parse(List.of("10.0.0.0/8", "192.168.1.7",
            "fd00::/8"));

    @Test
    void theClientIsTheRightmostAddressThatIsNotATrustedProxy() {
        assertThat(ForwardedForFilter.client(PROXIES, "10.0.0.2", List.of("203.0.113.9"))).isEqualTo("203.0.113.9");
        // Two proxies in a row, the client's own claim on the left ignored.
        assertThat(ForwardedForFilter.client(PROXIES, "10.0.0.2", List.of("1.2.3.4, 203.0.113.9, 192.168.1.7")))
                .isEqualTo("203.0.113.9");
        // The header repeated: its values in order.
        assertThat(ForwardedForFilter.client(PROXIES, "10.0.0.2", List.of("1.2.3.4", "203.0.113.9, 10.1.1.1")))
                .isEqualTo("203.0.113.9");
        assertThat(ForwardedForFilter.client(PROXIES, "fd00::1", List.of("[2001:db8::5]"))).isEqualTo("2001:db8:0:0:0:0:0:5");
        // Every hop a proxy: the leftmost is the best there is.
        assertThat(ForwardedForFilter.client(PROXIES, "10.0.0.2", List.of("10.9.9.9, 192.168.1.7")))
                .isEqualTo("10.9.9.9");
        // No header: the peer.
        assertThat(ForwardedForFilter.client(PROXIES, "10.0.0.2", List.of())).isEqualTo("10.0.0.2");
    }

    @Test
    void somethingThatIsNotAnAddressEndsTheWalkAtTheLastTrustedHop() {
        assertThat(ForwardedForFilter.client(PROXIES, "10.0.0.2", List.of("unknown"))).isEqualTo("10.0.0.2");
        assertThat(ForwardedForFilter.client(PROXIES, "10.0.0.2", List.of("203.0.113.9, evil.example, 10.0.0.3")))
                .isEqualTo("10.0.0.3");
        assertThat(ForwardedForFilter.client(PROXIES, "10.0.0.2", List.of("1.2.3.4/8"))).isEqualTo("10.0.0.2");
        assertThat(ForwardedForFilter.client(PROXIES, "10.0.0.2", List.of(""))).isEqualTo("10.0.0.2");
    }

    @Test
    void namesAndGarbageAreNotTrustedProxiesAndNoneMeansNoneConfigured() {
        assertThat((Object) ForwardedForFilter.parse(List.of("localhost", "proxy.example", "300.1.1.1/99", " ")))
                .isNull();
        assertThat((Object) ForwardedForFilter.parse(List.of())).isNull();
        assertThat(ForwardedForFilter.literal("localhost")).isNull();
        assertThat(ForwardedForFilter.literal("127.0.0.1")).isNotNull();
    }

    @Test
    void onlyATrustedPeerIsBelievedAndEveryoneDownTheChainSeesTheClient() throws Exception {
        ForwardedForFilter filter = new ForwardedForFilter(List.of("127.0.0.1"));
        assertThat(seen(filter, "127.0.0.1", "198.51.100.4")).isEqualTo("198.51.100.4");
        // Anyone else sending the header is not believed.
        assertThat(seen(filter, "198.51.100.77", "127.0.0.1")).isEqualTo("198.51.100.77");
        // Nothing configured: the header is not read at all.
        assertThat(seen(new ForwardedForFilter(List.of()), "127.0.0.1", "198.51.100.4")).isEqualTo("127.0.0.1");
    }

    private static String seen(ForwardedForFilter filter, String peer, String header) throws Exception {
        List<String> values = new ArrayList<>(List.of(header));
        HttpServletRequest request = (HttpServletRequest) Proxy.newProxyInstance(
                ForwardedForFilterTest.class.getClassLoader(), new Class<?>[] {HttpServletRequest.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getRemoteAddr", "getRemoteHost" -> peer;
                    case "getHeaders" -> ForwardedForFilter.HEADER.equalsIgnoreCase((String) args[0])
                            ? Collections.enumeration(values) : Collections.emptyEnumeration();
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        AtomicReference<String> seen = new AtomicReference<>();
        filter.doFilter(request, null, (ServletRequest r, jakarta.servlet.ServletResponse s) ->
                seen.set(((HttpServletRequest) r).getRemoteAddr()));
        return seen.get();
    }
}
