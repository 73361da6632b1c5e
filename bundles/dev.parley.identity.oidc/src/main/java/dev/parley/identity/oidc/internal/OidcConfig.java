package dev.parley.identity.oidc.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley OIDC issuer",
        description = "Accepts bearer tokens (JWT access or ID tokens) of one OpenID Connect issuer: one factory "
                + "configuration per issuer, e.g. dev.parley.identity.oidc~keycloak. With a client id it also signs "
                + "people in through the issuer in the browser (authorization code + PKCE) at "
                + "/api/v1/auth/oidc/<name>/login, <name> being the part of the PID after '~'.")
public @interface OidcConfig {
    /** The factory PID. */
    String FACTORY_PID = "dev.parley.identity.oidc";

    @AttributeDefinition(name = "Issuer",
            description = "The issuer URL, exactly as the issuer writes it in its tokens' 'iss' and its discovery "
                    + "document (<issuer>/.well-known/openid-configuration). https, except http://localhost and "
                    + "http://127.0.0.1 for development.")
    String issuer();

    @AttributeDefinition(name = "Audiences",
            description = "Accepted 'aud' values (at least one): a token must name one of them.")
    String[] audiences();

    @AttributeDefinition(name = "Algorithms", required = false,
            description = "Accepted signature algorithms; asymmetric only (RS256/384/512, PS256/384/512, "
                    + "ES256/384/512, EdDSA, Ed25519).")
    String[] algorithms() default { "RS256", "ES256", "EdDSA" };

    @AttributeDefinition(name = "Clock skew (seconds)", required = false, min = "0", max = "300",
            description = "Tolerance for 'exp', 'nbf' and 'iat' between this server's clock and the issuer's.")
    int clockSkewSeconds() default 60;

    @AttributeDefinition(name = "Tenant claim", required = false,
            description = "The claim (a dotted path into nested objects is allowed) naming the Parley tenant.")
    String tenantClaim() default "tenant";

    @AttributeDefinition(name = "Tenant", required = false,
            description = "A fixed tenant for every token of a single-tenant issuer; when set it wins over the "
                    + "tenant claim.")
    String tenantId() default "";

    @AttributeDefinition(name = "Roles claim", required = false,
            description = "The claim holding the issuer's roles or groups: a name or a dotted path such as "
                    + "realm_access.roles (Keycloak); an array or a space-separated string.")
    String rolesClaim() default "roles";

    @AttributeDefinition(name = "Role mapping", required = false,
            description = "issuerRole=parley-role entries, e.g. parley-admins=admin. Parley roles: owner, admin, "
                    + "plugin-admin, developer, member, viewer. Issuer roles not mapped are dropped.")
    String[] roleMapping() default {};

    @AttributeDefinition(name = "Scopes claim", required = false,
            description = "The claim holding the token's scopes: a space-separated string or an array.")
    String scopesClaim() default "scope";

    @AttributeDefinition(name = "Largest token (bytes)", required = false, min = "256",
            description = "Longer tokens are refused before they are parsed.")
    int maxTokenBytes() default 16384;

    @AttributeDefinition(name = "Key cache (seconds)", required = false, min = "1",
            description = "How long the issuer's keys (JWKS) are used before they are fetched again.")
    int jwksCacheSeconds() default 300;

    @AttributeDefinition(name = "Least time between key fetches (seconds)", required = false, min = "1",
            description = "A token naming a key ('kid') that is not known makes Parley fetch the keys again at most "
                    + "once per this interval: key rotation works, a flood of unknown kids does not reach the "
                    + "issuer.")
    int jwksMinRefreshSeconds() default 30;

    @AttributeDefinition(name = "Client id", required = false,
            description = "Parley's client id at the issuer, for the browser sign-in. Empty: no browser sign-in "
                    + "through this issuer (bearer tokens are still accepted).")
    String clientId() default "";

    @AttributeDefinition(name = "Client secret", type = AttributeType.PASSWORD, required = false,
            description = "Key .clientSecret (never a service property, never logged): the client secret of a "
                    + "confidential client, plain or sealed with the master key for the purpose "
                    + "'oidc:<name>:.clientSecret'. Empty for a public client (PKCE alone).")
    String _clientSecret() default "";

    @AttributeDefinition(name = "Scopes", required = false,
            description = "The scopes the browser sign-in asks for; 'openid' is always asked for.")
    String[] scopes() default { "openid", "profile", "email" };

    @AttributeDefinition(name = "Allowed redirect URIs", required = false,
            description = "The console addresses the sign-in may send people back to, compared exactly (scheme, "
                    + "host, port, path and query), e.g. https://chat.example.com/signed-in. Any other "
                    + "redirect_uri is refused (400).")
    String[] allowedRedirectUris() default {};

    @AttributeDefinition(name = "Callback base URL", required = false,
            description = "Parley's public address as browsers reach it, e.g. https://parley.example.com; the "
                    + "issuer sends people back to <this>/api/v1/auth/oidc/<name>/callback (register that URL at "
                    + "the issuer). Empty: taken from each request's scheme and Host, which is only right without "
                    + "a reverse proxy.")
    String callbackBaseUrl() default "";

    @AttributeDefinition(name = "Sign-in time (seconds)", required = false, min = "30", max = "3600",
            description = "How long a started browser sign-in may take before its state expires.")
    int loginTimeoutSeconds() default 600;

    @AttributeDefinition(name = "Sign-ins in progress", required = false, min = "1",
            description = "At most this many browser sign-ins through this issuer may be in progress at once "
                    + "(all nodes together); more are refused (503) until some finish or expire.")
    int maxPendingLogins() default 1000;
}
