package dev.parley.plugins.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which URLs a tenant's own provider instance may name: only the hosts the operator lists for the plugin. */
class ProviderHostsTest {
    private final ProviderHosts hosts = ProviderHosts.parse(new String[] {
            "openai=api.openai.com, proxy.example.com:8443", "azure-openai=*.openai.azure.com",
            "ollama=http://127.0.0.1:*"});

    private void allowed(String plugin, Object value) {
        assertThatCode(() -> hosts.check(plugin, Map.of("baseUrl", value))).doesNotThrowAnyException();
    }

    private void refused(String plugin, Object value, String why) {
        assertThatThrownBy(() -> hosts.check(plugin, Map.of("baseUrl", value)))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining("baseUrl").hasMessageContaining(why);
    }

    @Test
    void aListedHostOverHttpsOnItsDefaultPortIsAllowed() {
        allowed("openai", "https://api.openai.com/v1");
        allowed("openai", "https://API.OpenAI.com:443/v1");
        allowed("openai", "https://proxy.example.com:8443/v1");
        allowed("azure-openai", "https://my-resource.openai.azure.com");
        allowed("ollama", "http://127.0.0.1:11434");
        allowed("openai", List.of("not a url", "https://api.openai.com/v1"));
        allowed("openai", new String[] {"gpt-4o"});
        allowed("openai", 42);
    }

    @Test
    void anyOtherHostPortOrSchemeIsRefusedNamingWhatIsAllowed() {
        refused("openai", "https://169.254.169.254/latest/meta-data", "api.openai.com, proxy.example.com:8443");
        refused("openai", "https://api.openai.com.evil.example/v1", "not among the hosts");
        refused("openai", "https://api.openai.com:8080/v1", "not among the hosts");
        refused("openai", "https://proxy.example.com/v1", "not among the hosts");
        refused("openai", "http://api.openai.com/v1", "not among the hosts");
        refused("openai", "https://user:pw@api.openai.com/v1", "without user info");
        refused("openai", "file:///etc/passwd://", "https");
        refused("openai", "gopher://api.openai.com/", "https");
        refused("openai", new String[] {"https://api.openai.com/v1", "https://10.0.0.1/"}, "not among the hosts");
        refused("azure-openai", "https://openai.azure.com", "not among the hosts");
        refused("azure-openai", "https://evilopenai.azure.com", "not among the hosts");
        refused("mistral", "https://api.mistral.ai/v1", "none (the operator lists them");
        refused("openai", "https://api.openai.com/v1 and more", "not a valid URL");
    }

    @Test
    void aMalformedEntryIsRefusedNamingIt() {
        assertThatThrownBy(() -> ProviderHosts.parse(new String[] {"api.openai.com"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'api.openai.com'");
        assertThatThrownBy(() -> ProviderHosts.parse(new String[] {"openai=api.*.com"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("api.*.com");
        assertThatThrownBy(() -> ProviderHosts.parse(new String[] {"openai=host:port"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'port'");
    }
}
