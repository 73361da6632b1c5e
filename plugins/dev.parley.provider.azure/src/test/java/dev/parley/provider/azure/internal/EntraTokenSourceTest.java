package dev.parley.provider.azure.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.testsupport.azure.FakeEntraTokenServer;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client-credentials token request against a local Entra ID token endpoint. */
class EntraTokenSourceTest {

    static final String SCOPE = "https://cognitiveservices.azure.com/.default";
    FakeEntraTokenServer entra;
    final HttpClient http = HttpClient.newHttpClient();
    final MutableClock clock = new MutableClock();

    @BeforeEach
    void start() {
        entra = FakeEntraTokenServer.start("contoso", "app-1", "s3cret", SCOPE);
    }

    @AfterEach
    void stop() {
        entra.close();
    }

    EntraTokenSource source(String tenant, String secret, String scope) {
        return new EntraTokenSource(entra.authorityHost(), tenant, "app-1", secret, scope, http, Duration.ofSeconds(10),
                clock);
    }

    @Test
    void aTokenIsCachedUntilShortlyBeforeItExpires() {
        entra.expiresIn(3600);
        var source = source("contoso", "s3cret", SCOPE);
        String first = source.get();
        assertThat(entra.isValid(first)).isTrue();
        clock.advance(Duration.ofMinutes(54));
        assertThat(source.get()).isEqualTo(first);
        assertThat(entra.issuedCount()).isEqualTo(1);
        clock.advance(Duration.ofMinutes(2)); // 56 min: within 5 minutes of expiry
        String second = source.get();
        assertThat(second).isNotEqualTo(first);
        assertThat(entra.issuedCount()).isEqualTo(2);
        assertThat(entra.requests().get(0).header("content-type")).startsWith("application/x-www-form-urlencoded");
    }

    @Test
    void refusalsAreProviderAuthWithoutTheSecret() {
        assertThatThrownBy(() -> source("contoso", "wrong", SCOPE).get()).isInstanceOfSatisfying(ParleyException.class,
                e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
                    assertThat(e.getMessage()).contains("invalid_client").doesNotContain("wrong");
                });
        assertThatThrownBy(() -> source("fabrikam", "s3cret", SCOPE).get())
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.getMessage()).contains("invalid_request"));
        assertThatThrownBy(() -> source("contoso", "s3cret", "https://management.azure.com/.default").get())
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.getMessage()).contains("invalid_scope"));
        assertThat(entra.issuedCount()).isZero();
    }

    @Test
    void anUnreachableAuthorityIsUpstreamFailure() {
        String host = entra.authorityHost();
        entra.close();
        var source = new EntraTokenSource(host, "contoso", "app-1", "s3cret", SCOPE, http, Duration.ofSeconds(5), clock);
        assertThatThrownBy(source::get).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE));
    }

    @Test
    void missingSettingsAreRefusedAtOnce() {
        assertThatThrownBy(() -> source("", "s3cret", SCOPE)).isInstanceOf(IllegalArgumentException.class);
    }

    static final class MutableClock extends Clock {
        private Instant now = Instant.parse("2026-12-05T00:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
