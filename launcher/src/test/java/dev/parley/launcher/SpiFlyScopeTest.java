package dev.parley.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;

class SpiFlyScopeTest {
    private static Bundle bundle(String bsn) {
        return (Bundle) Proxy.newProxyInstance(Bundle.class.getClassLoader(), new Class<?>[] {Bundle.class},
                (proxy, method, args) -> method.getName().equals("getSymbolicName") ? bsn : null);
    }

    @Test
    void onlySpiFlyLosesSightOfJetty() {
        Bundle spifly = bundle(SpiFlyScope.SPIFLY);
        assertThat(SpiFlyScope.hidden(spifly, bundle("org.apache.felix.http.jetty12"))).isTrue();
        assertThat(SpiFlyScope.hidden(spifly, bundle("org.eclipse.jetty.alpn.client"))).isTrue();
        // SLF4J needs the service loader mediated; plugins may too.
        assertThat(SpiFlyScope.hidden(spifly, bundle("slf4j.api"))).isFalse();
        assertThat(SpiFlyScope.hidden(spifly, bundle("org.eclipse.osgitech.rest"))).isFalse();
        assertThat(SpiFlyScope.hidden(bundle("dev.parley.plugins"), bundle("org.apache.felix.http.jetty12"))).isFalse();
    }
}
