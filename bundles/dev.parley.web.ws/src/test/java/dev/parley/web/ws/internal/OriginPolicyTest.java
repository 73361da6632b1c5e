package dev.parley.web.ws.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OriginPolicyTest {
    private final OriginPolicy defaults = OriginPolicy.of(new String[] {"http://localhost:*", "http://127.0.0.1:*"});

    @Test
    void noOriginIsAProgramAndAllowed() {
        assertThat(OriginPolicy.of(new String[0]).allows(null, "example.com")).isTrue();
    }

    @Test
    void theServersOwnHostAndPortAreAllowedWhateverTheScheme() {
        OriginPolicy none = OriginPolicy.of(new String[0]);
        assertThat(none.allows("https://chat.example.com", "chat.example.com")).isTrue();
        assertThat(none.allows("http://chat.example.com", "chat.example.com")).isTrue();
        assertThat(none.allows("https://chat.example.com:8443", "chat.example.com:8443")).isTrue();
        assertThat(none.allows("https://Chat.Example.com", "chat.example.com")).isTrue();
        assertThat(none.allows("https://chat.example.com:8443", "chat.example.com")).isFalse();
        assertThat(none.allows("https://chat.example.com", "chat.example.com:8080")).isFalse();
        assertThat(none.allows("https://chat.example.com.evil.io", "chat.example.com")).isFalse();
        assertThat(none.allows("https://evil.io", null)).isFalse();
    }

    @Test
    void localhostOnAnyPortByDefault() {
        assertThat(defaults.allows("http://localhost:5173", "parley.internal:8080")).isTrue();
        assertThat(defaults.allows("http://127.0.0.1:3000", "parley.internal:8080")).isTrue();
        assertThat(defaults.allows("http://localhost", "parley.internal:8080")).isTrue();
        assertThat(defaults.allows("https://localhost:5173", "parley.internal:8080")).isFalse();
        assertThat(defaults.allows("http://localhost.evil.io:5173", "parley.internal:8080")).isFalse();
    }

    @Test
    void configuredEntriesMatchSchemeHostAndPort() {
        OriginPolicy p = OriginPolicy.of(new String[] {"https://chat.example.com", "http://tools.example.com:8080",
                "not a url", "ftp://files.example.com", "https://with.path/x"});
        assertThat(p.allows("https://chat.example.com", "parley:8080")).isTrue();
        assertThat(p.allows("https://chat.example.com:443", "parley:8080")).isTrue();
        assertThat(p.allows("http://chat.example.com", "parley:8080")).isFalse();
        assertThat(p.allows("https://chat.example.com:444", "parley:8080")).isFalse();
        assertThat(p.allows("http://tools.example.com:8080", "parley:8080")).isTrue();
        assertThat(p.allows("http://tools.example.com", "parley:8080")).isFalse();
        assertThat(p.allows("ftp://files.example.com", "parley:8080")).isFalse();
        assertThat(p.allows("https://with.path", "parley:8080")).isFalse();
    }

    @Test
    void malformedOriginsAreRefused() {
        assertThat(defaults.allows("null", "localhost:8080")).isFalse();
        assertThat(defaults.allows("", "localhost:8080")).isFalse();
        assertThat(defaults.allows("file://", "localhost:8080")).isFalse();
        assertThat(defaults.allows("http://user@localhost:5173", "localhost:8080")).isFalse();
    }

    @Test
    void aStarAllowsEveryOrigin() {
        assertThat(OriginPolicy.of(new String[] {"*"}).allows("https://anything.example", "parley")).isTrue();
    }
}
