package dev.parley.identity.oidc.internal;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.JSONObjectUtils;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The issuer's signing keys, and only those: found through the issuer's discovery document, fetched from its
 * {@code jwks_uri} by this class alone (a token's {@code jku}, {@code x5u}, {@code jwk} or {@code x5c} header is
 * never looked at), cached for {@code jwksCacheSeconds}. A key id that is not in the cache makes it fetch again, at
 * most once per {@code jwksMinRefreshSeconds}: rotation is picked up, a flood of made-up key ids is not passed on to
 * the issuer. Discovery happens on first use; while the issuer cannot be reached it is tried again with a growing
 * back-off, and a failed refresh keeps the keys fetched before.
 */
final class IssuerKeys implements JWKSource<SecurityContext> {
    static final int MAX_RESPONSE_BYTES = 512 * 1024;
    static final int MAX_REDIRECTS = 3;
    static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(60);
    static final String WELL_KNOWN = "/.well-known/openid-configuration";

    private static final Logger LOG = LoggerFactory.getLogger(IssuerKeys.class);

    /** What the health check reports. */
    enum Reach { NOT_CONTACTED, REACHABLE, UNREACHABLE }

    /** The last contact with the issuer; {@code detail} never holds key material or tokens. */
    record Status(Reach reach, String detail, Instant since, int keyCount) {
    }

    /**
     * The endpoints of the browser sign-in, from the discovery document: https (http only for an issuer on this
     * machine), or null when the document names none. {@code tokenAuthMethods} is empty when the document does not
     * say (which means {@code client_secret_basic}, RFC 8414).
     */
    record Endpoints(URI authorization, URI token, List<String> tokenAuthMethods) {
    }

    private final OidcSettings settings;
    private final HttpClient http;
    private final Clock clock;
    private final Duration requestTimeout;

    // Guarded by this.
    private URI jwksUri;
    private Endpoints endpoints;
    private JWKSet keys;
    private Instant keysFetchedAt = Instant.MIN;
    private Instant lastKeyFetch = Instant.MIN;
    private Instant nextConnectAttempt = Instant.MIN;
    private Duration backoff = FIRST_BACKOFF;
    private int keyFetches;

    private volatile Status status = new Status(Reach.NOT_CONTACTED, "not contacted yet", null, 0);

    IssuerKeys(OidcSettings settings, HttpClient http, Clock clock, Duration requestTimeout) {
        this.settings = Objects.requireNonNull(settings);
        this.http = Objects.requireNonNull(http);
        this.clock = Objects.requireNonNull(clock);
        this.requestTimeout = Objects.requireNonNull(requestTimeout);
    }

    Status status() {
        return status;
    }

    /** How many times the keys were fetched (for tests and the health check). */
    synchronized int keyFetches() {
        return keyFetches;
    }

    @Override
    public synchronized List<JWK> get(JWKSelector selector, SecurityContext context) throws IssuerUnreachableException {
        Instant now = clock.instant();
        if (keys == null) {
            connect(now);
        } else if (!now.isBefore(keysFetchedAt.plus(settings.jwksCache())) && mayFetch(now)) {
            refresh(now);
        }
        List<JWK> found = selector.select(keys);
        if (found.isEmpty() && mayFetch(now)) {
            // A key id we do not know: perhaps the issuer rotated its keys.
            LOG.debug("oidc.keys.unknown issuer={} action=refetch", settings.issuer());
            refresh(now);
            found = selector.select(keys);
        }
        return found;
    }

    /**
     * The issuer's sign-in endpoints, discovering them (and fetching the keys) on first use.
     *
     * @throws IssuerUnreachableException while the issuer cannot be reached (or its document is unusable)
     */
    synchronized Endpoints endpoints() throws IssuerUnreachableException {
        if (keys == null) {
            connect(clock.instant());
        }
        return endpoints;
    }

    private boolean mayFetch(Instant now) {
        return !now.isBefore(lastKeyFetch.plus(settings.jwksMinRefresh()));
    }

    /** Discovery and the first keys; throws while the issuer cannot be reached (and waits out the back-off). */
    private void connect(Instant now) throws IssuerUnreachableException {
        if (now.isBefore(nextConnectAttempt)) {
            throw new IssuerUnreachableException("issuer not reachable, next attempt at " + nextConnectAttempt);
        }
        try {
            if (jwksUri == null) {
                jwksUri = discover();
            }
            fetchKeys(now);
            backoff = FIRST_BACKOFF;
        } catch (IOException | ParseException | RuntimeException e) {
            nextConnectAttempt = now.plus(backoff);
            backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            String detail = describe(e);
            status = new Status(Reach.UNREACHABLE, detail, now, 0);
            LOG.debug("oidc.issuer.unreachable issuer={} detail=\"{}\" retryIn={}s", settings.issuer(), detail,
                    Duration.between(now, nextConnectAttempt).toSeconds());
            throw new IssuerUnreachableException(detail);
        }
    }

    /** Fetches the keys again; on failure keeps the ones at hand. */
    private void refresh(Instant now) {
        try {
            fetchKeys(now);
        } catch (IOException | ParseException | RuntimeException e) {
            String detail = describe(e);
            status = new Status(Reach.UNREACHABLE, detail + " (using the keys fetched at " + keysFetchedAt + ")",
                    now, keys.getKeys().size());
            LOG.debug("oidc.keys.refresh.failed issuer={} detail=\"{}\"", settings.issuer(), detail);
        }
    }

    private void fetchKeys(Instant now) throws IOException, ParseException {
        lastKeyFetch = now;
        keyFetches++;
        String body = get(jwksUri);
        // Public keys only: a symmetric ("oct") or private key published by mistake is never used.
        JWKSet fetched = JWKSet.parse(body).toPublicJWKSet();
        keys = fetched;
        keysFetchedAt = now;
        status = new Status(Reach.REACHABLE, "keys fetched", now, fetched.getKeys().size());
        LOG.debug("oidc.keys.fetched issuer={} keys={}", settings.issuer(), fetched.getKeys().size());
    }

    private URI discover() throws IOException, ParseException {
        String base = settings.issuer().endsWith("/")
                ? settings.issuer().substring(0, settings.issuer().length() - 1)
                : settings.issuer();
        Map<String, Object> doc = JSONObjectUtils.parse(get(URI.create(base + WELL_KNOWN)));
        String issuer = JSONObjectUtils.getString(doc, "issuer");
        if (!settings.issuer().equals(issuer)) {
            throw new IOException("the discovery document names another issuer");
        }
        String jwks = JSONObjectUtils.getString(doc, "jwks_uri");
        if (jwks == null) {
            throw new IOException("the discovery document has no jwks_uri");
        }
        URI uri = endpoint(jwks, "jwks_uri");
        String authorization = JSONObjectUtils.getString(doc, "authorization_endpoint");
        String token = JSONObjectUtils.getString(doc, "token_endpoint");
        if (authorization != null && token != null) {
            String[] methods = JSONObjectUtils.getStringArray(doc, "token_endpoint_auth_methods_supported");
            endpoints = new Endpoints(endpoint(authorization, "authorization_endpoint"),
                    endpoint(token, "token_endpoint"), methods == null ? List.of() : List.of(methods));
        }
        return uri;
    }

    private URI endpoint(String value, String field) throws IOException {
        URI uri;
        try {
            uri = URI.create(value);
        } catch (IllegalArgumentException e) {
            throw new IOException("the discovery document's " + field + " is not a URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        boolean https = scheme.equals("https") && uri.getHost() != null;
        boolean loopbackHttp = scheme.equals("http") && settings.loopbackIssuer() && isLoopback(uri);
        if (!https && !loopbackHttp) {
            throw new IOException("the discovery document's " + field + " is not https");
        }
        if (uri.getRawFragment() != null) {
            throw new IOException("the discovery document's " + field + " has a fragment");
        }
        return uri;
    }

    private static boolean isLoopback(URI uri) {
        String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
        return host.equals("localhost") || host.equals("127.0.0.1") || host.equals("[::1]");
    }

    /** GET with a size cap; a redirect is followed only on the same scheme, host and port. */
    private String get(URI uri) throws IOException {
        URI current = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest request = HttpRequest.newBuilder(current).timeout(requestTimeout)
                    .header("Accept", "application/json").GET().build();
            HttpResponse<InputStream> response;
            try {
                response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            try (InputStream in = response.body()) {
                int code = response.statusCode();
                if (code >= 300 && code < 400) {
                    String location = response.headers().firstValue("Location")
                            .orElseThrow(() -> new IOException("HTTP " + code + " without a Location"));
                    URI next = current.resolve(location);
                    if (!sameOrigin(uri, next)) {
                        throw new IOException("redirected to another host");
                    }
                    current = next;
                    continue;
                }
                if (code != 200) {
                    throw new IOException("HTTP " + code + " from " + path(current));
                }
                byte[] body = in.readNBytes(MAX_RESPONSE_BYTES + 1);
                if (body.length > MAX_RESPONSE_BYTES) {
                    throw new IOException("the response of " + path(current) + " is larger than "
                            + MAX_RESPONSE_BYTES + " bytes");
                }
                return new String(body, StandardCharsets.UTF_8);
            }
        }
        throw new IOException("too many redirects");
    }

    private static boolean sameOrigin(URI a, URI b) {
        return Objects.equals(lower(a.getScheme()), lower(b.getScheme()))
                && Objects.equals(lower(a.getHost()), lower(b.getHost())) && a.getPort() == b.getPort();
    }

    private static String lower(String s) {
        return s == null ? null : s.toLowerCase(Locale.ROOT);
    }

    private static String path(URI uri) {
        return uri.getPath() == null || uri.getPath().isEmpty() ? "/" : uri.getPath();
    }

    private static String describe(Exception e) {
        String type = e.getClass().getSimpleName();
        if (e instanceof ParseException) {
            return "the issuer's answer is not valid JSON or JWKS";
        }
        return e.getMessage() == null ? type : type + ": " + e.getMessage();
    }
}
