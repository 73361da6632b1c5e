package dev.parley.identity.oidc.internal;

import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Principal;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.apache.felix.hc.api.FormattingResultLog;
import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One organisation's OIDC issuer as a {@link BearerAuthenticator} (one instance per factory configuration), and its
 * health: WARN while the issuer cannot be reached (tokens are then refused with a clear reason), never failing
 * readiness, since Parley's own sign-in and API keys still work. With a client id it is also the issuer of the
 * browser sign-in ({@link OidcSignInResource}), which finds it by its configuration's name.
 */
@Component(service = { BearerAuthenticator.class, HealthCheck.class, OidcBearerAuthenticator.class },
        configurationPid = OidcConfig.FACTORY_PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE, property = {
                HealthCheck.NAME + "=Parley OIDC issuer",
                HealthCheck.TAGS + "=ready" })
@Designate(ocd = OidcConfig.class, factory = true)
public final class OidcBearerAuthenticator implements BearerAuthenticator, HealthCheck {
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    private final OidcSettings settings;
    private final HttpClient http;
    private final IssuerKeys keys;
    private final TokenVerifier verifier;
    /** The configured client secret as given (plain or sealed); never logged, never a service property. */
    private final String clientSecret;

    @Activate
    public OidcBearerAuthenticator(OidcConfig config, Map<String, Object> properties) {
        this(OidcSettings.from(config, name(properties.get(Constants.SERVICE_PID))), Clock.systemUTC(),
                config._clientSecret());
    }

    OidcBearerAuthenticator(OidcSettings settings, Clock clock) {
        this(settings, clock, "");
    }

    OidcBearerAuthenticator(OidcSettings settings, Clock clock, String clientSecret) {
        this.settings = settings;
        this.clientSecret = clientSecret == null ? "" : clientSecret.trim();
        // Redirects are followed by IssuerKeys itself, and only on the same host.
        this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER).build();
        this.keys = new IssuerKeys(settings, http, clock, REQUEST_TIMEOUT);
        this.verifier = new TokenVerifier(settings, keys, clock);
    }

    @Override
    public boolean recognizes(String credential) {
        return verifier.recognizes(credential);
    }

    @Override
    public Principal authenticate(String credential) {
        return verifier.authenticate(credential);
    }

    @Override
    public Result execute() {
        FormattingResultLog log = new FormattingResultLog();
        IssuerKeys.Status s = keys.status();
        switch (s.reach()) {
            case NOT_CONTACTED -> log.info("issuer {}: not contacted yet (discovery on the first token)",
                    settings.issuer());
            case REACHABLE -> log.info("issuer {}: {} key(s) fetched at {}", settings.issuer(), s.keyCount(),
                    s.since());
            case UNREACHABLE -> log.warn("issuer {}: the identity provider cannot be reached since {}: {}",
                    settings.issuer(), s.since(), s.detail());
        }
        return new Result(log);
    }

    IssuerKeys keys() {
        return keys;
    }

    OidcSettings settings() {
        return settings;
    }

    TokenVerifier verifier() {
        return verifier;
    }

    HttpClient http() {
        return http;
    }

    /** The client secret as configured, perhaps sealed; empty for a public client. */
    String clientSecret() {
        return clientSecret;
    }

    /** The name of a named factory configuration: {@code dev.parley.identity.oidc~keycloak} is {@code keycloak}. */
    static String name(Object pid) {
        String p = pid instanceof String s ? s : "";
        int tilde = p.indexOf('~');
        return tilde >= 0 ? p.substring(tilde + 1) : "";
    }

    @Deactivate
    void deactivate() throws Exception {
        // Java 21+ closes the client's selector thread; on 17 it ends when the client is collected.
        if (http instanceof AutoCloseable closeable) {
            closeable.close();
        }
    }
}
