package dev.parley.identity.oidc.internal;

import com.nimbusds.jose.JWSAlgorithm;
import dev.parley.api.identity.Role;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One issuer's settings, checked: a configuration that would weaken verification (a symmetric or no algorithm, no
 * audience, a long skew) or that names a role Parley does not have is refused, so the component does not activate.
 */
record OidcSettings(String issuer, URI issuerUri, Set<String> audiences, Set<JWSAlgorithm> algorithms,
        Duration clockSkew, String tenantClaim, String tenantId, String rolesClaim, Map<String, Role> roleMapping,
        String scopesClaim, int maxTokenBytes, Duration jwksCache, Duration jwksMinRefresh, LoginSettings login) {

    static final int MAX_SKEW_SECONDS = 300;

    /** Asymmetric signature algorithms only: HMAC would make a public key a shared secret; "none" signs nothing. */
    static final Set<JWSAlgorithm> ASYMMETRIC = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
            JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512, JWSAlgorithm.ES256, JWSAlgorithm.ES384,
            JWSAlgorithm.ES512, JWSAlgorithm.EdDSA, JWSAlgorithm.Ed25519);

    /** What a browser sign-in name may look like (it is a path segment and part of a cookie path). */
    static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[A-Za-z0-9._-]{1,64}");

    /**
     * The browser sign-in through this issuer (authorization code + PKCE); null when no client id is configured.
     * Holds no secret: the client secret stays with the component (see {@link OidcBearerAuthenticator}).
     */
    record LoginSettings(String name, String clientId, List<String> scopes, Set<String> allowedRedirectUris,
            String callbackBaseUrl, Duration timeout, int maxPending) {
    }

    static OidcSettings from(OidcConfig config) {
        return from(config, "");
    }

    /** {@code name} is the configuration's name (the part of its PID after '~'), under which people sign in. */
    static OidcSettings from(OidcConfig config, String configurationName) {
        String issuer = trim(config.issuer());
        if (issuer.isEmpty()) {
            throw new IllegalArgumentException("OIDC: 'issuer' is required (the issuer URL of the tokens)");
        }
        URI issuerUri = issuerUri(issuer);

        Set<String> audiences = new LinkedHashSet<>();
        for (String a : nonNull(config.audiences())) {
            if (!trim(a).isEmpty()) {
                audiences.add(trim(a));
            }
        }
        if (audiences.isEmpty()) {
            throw new IllegalArgumentException("OIDC issuer " + issuer
                    + ": 'audiences' needs at least one value (the 'aud' Parley's tokens are issued for)");
        }

        Set<JWSAlgorithm> algorithms = new LinkedHashSet<>();
        for (String name : nonNull(config.algorithms())) {
            String n = trim(name);
            if (n.isEmpty()) {
                continue;
            }
            JWSAlgorithm alg = ASYMMETRIC.stream().filter(a -> a.getName().equals(n)).findFirst().orElse(null);
            if (alg == null) {
                throw new IllegalArgumentException("OIDC issuer " + issuer + ": algorithm '" + n
                        + "' is not accepted; only asymmetric signature algorithms are (RS*, PS*, ES*, EdDSA, "
                        + "Ed25519), never HMAC (HS*) or none");
            }
            algorithms.add(alg);
        }
        if (algorithms.isEmpty()) {
            throw new IllegalArgumentException("OIDC issuer " + issuer + ": 'algorithms' is empty");
        }

        int skew = config.clockSkewSeconds();
        if (skew < 0 || skew > MAX_SKEW_SECONDS) {
            throw new IllegalArgumentException("OIDC issuer " + issuer + ": 'clockSkewSeconds' must be between 0 and "
                    + MAX_SKEW_SECONDS + ", not " + skew);
        }

        Map<String, Role> mapping = new LinkedHashMap<>();
        for (String entry : nonNull(config.roleMapping())) {
            if (trim(entry).isEmpty()) {
                continue;
            }
            int eq = entry.lastIndexOf('=');
            if (eq <= 0 || eq == entry.length() - 1) {
                throw new IllegalArgumentException("OIDC issuer " + issuer + ": role mapping '" + entry
                        + "' is not issuerRole=parley-role");
            }
            String parleyRole = trim(entry.substring(eq + 1));
            Role role = Role.fromSlug(parleyRole);
            if (role == null) {
                throw new IllegalArgumentException("OIDC issuer " + issuer + ": role mapping '" + entry
                        + "' names no Parley role; known roles: " + slugs());
            }
            mapping.put(trim(entry.substring(0, eq)), role);
        }

        int maxTokenBytes = positive(issuer, "maxTokenBytes", config.maxTokenBytes());
        int cache = positive(issuer, "jwksCacheSeconds", config.jwksCacheSeconds());
        int minRefresh = positive(issuer, "jwksMinRefreshSeconds", config.jwksMinRefreshSeconds());
        String tenantClaim = trim(config.tenantClaim());
        String tenantId = trim(config.tenantId());
        if (tenantClaim.isEmpty() && tenantId.isEmpty()) {
            throw new IllegalArgumentException("OIDC issuer " + issuer + ": set 'tenantClaim' or 'tenantId'");
        }
        return new OidcSettings(issuer, issuerUri, Collections.unmodifiableSet(audiences),
                Collections.unmodifiableSet(algorithms), Duration.ofSeconds(skew), tenantClaim, tenantId,
                orDefault(config.rolesClaim(), "roles"), Collections.unmodifiableMap(mapping),
                orDefault(config.scopesClaim(), "scope"), maxTokenBytes, Duration.ofSeconds(cache),
                Duration.ofSeconds(minRefresh), login(config, issuer, trim(configurationName)));
    }

    private static LoginSettings login(OidcConfig config, String issuer, String name) {
        String clientId = trim(config.clientId());
        if (clientId.isEmpty()) {
            return null;
        }
        String where = "OIDC issuer " + issuer + ": ";
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(where + "the browser sign-in needs a named configuration "
                    + "(dev.parley.identity.oidc~<name>, name of letters, digits, '.', '_' or '-'), not '" + name + "'");
        }
        List<String> scopes = new ArrayList<>();
        scopes.add("openid");
        for (String scope : nonNull(config.scopes())) {
            for (String part : trim(scope).split("\\s+")) {
                if (!part.isEmpty() && !scopes.contains(part)) {
                    if (!part.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '"' && c != '\\')) {
                        throw new IllegalArgumentException(where + "scope '" + part + "' is not a valid scope");
                    }
                    scopes.add(part);
                }
            }
        }
        Set<String> redirects = new LinkedHashSet<>();
        for (String r : nonNull(config.allowedRedirectUris())) {
            String uri = trim(r);
            if (uri.isEmpty()) {
                continue;
            }
            URI parsed = webUri(where, "allowedRedirectUris", uri);
            if (parsed.getRawFragment() != null) {
                throw new IllegalArgumentException(where + "allowed redirect URI '" + uri + "' has a fragment");
            }
            redirects.add(uri);
        }
        if (redirects.isEmpty()) {
            throw new IllegalArgumentException(where + "the browser sign-in (clientId is set) needs "
                    + "'allowedRedirectUris': the console addresses people may be sent back to");
        }
        String callbackBase = trim(config.callbackBaseUrl());
        while (callbackBase.endsWith("/")) {
            callbackBase = callbackBase.substring(0, callbackBase.length() - 1);
        }
        if (!callbackBase.isEmpty()) {
            URI parsed = webUri(where, "callbackBaseUrl", callbackBase);
            if (parsed.getRawQuery() != null || parsed.getRawFragment() != null) {
                throw new IllegalArgumentException(where + "'callbackBaseUrl' must have no query or fragment");
            }
        }
        int timeout = config.loginTimeoutSeconds();
        if (timeout < 30 || timeout > 3600) {
            throw new IllegalArgumentException(where + "'loginTimeoutSeconds' must be between 30 and 3600, not "
                    + timeout);
        }
        int maxPending = positive(issuer, "maxPendingLogins", config.maxPendingLogins());
        return new LoginSettings(name, clientId, List.copyOf(scopes), Collections.unmodifiableSet(redirects),
                callbackBase, Duration.ofSeconds(timeout), maxPending);
    }

    /** An absolute https URL, or http on this machine only (a console or Parley in development). */
    private static URI webUri(String where, String setting, String value) {
        URI uri;
        try {
            uri = new URI(value);
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException(where + "'" + setting + "' value '" + value + "' is not a URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
        boolean loopback = host.equals("localhost") || host.equals("127.0.0.1") || host.equals("[::1]");
        if (host.isEmpty() || uri.getRawUserInfo() != null
                || !(scheme.equals("https") || (scheme.equals("http") && loopback))) {
            throw new IllegalArgumentException(where + "'" + setting + "' value '" + value + "' must be an https "
                    + "URL (http only for localhost or 127.0.0.1)");
        }
        return uri;
    }

    /** Whether plain http is allowed for this issuer's endpoints: only for an issuer on this machine. */
    boolean loopbackIssuer() {
        String host = issuerUri.getHost().toLowerCase(Locale.ROOT);
        return "http".equals(issuerUri.getScheme())
                && (host.equals("localhost") || host.equals("127.0.0.1") || host.equals("[::1]"));
    }

    private static URI issuerUri(String issuer) {
        URI uri;
        try {
            uri = URI.create(issuer);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("OIDC: issuer '" + issuer + "' is not a URL");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
        boolean loopback = host.equals("localhost") || host.equals("127.0.0.1") || host.equals("[::1]");
        if (host.isEmpty() || uri.getQuery() != null || uri.getFragment() != null
                || !(scheme.equals("https") || (scheme.equals("http") && loopback))) {
            throw new IllegalArgumentException("OIDC: issuer '" + issuer + "' must be an https URL without query "
                    + "or fragment (http only for localhost or 127.0.0.1)");
        }
        return uri;
    }

    private static int positive(String issuer, String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException("OIDC issuer " + issuer + ": '" + name + "' must be positive");
        }
        return value;
    }

    private static List<String> slugs() {
        List<String> out = new ArrayList<>();
        for (Role r : Role.values()) {
            out.add(r.slug());
        }
        return out;
    }

    private static String[] nonNull(String[] values) {
        return values == null ? new String[0] : values;
    }

    private static String trim(String s) {
        return s == null ? "" : s.trim();
    }

    private static String orDefault(String s, String fallback) {
        return trim(s).isEmpty() ? fallback : trim(s);
    }
}
