package dev.parley.identity.oidc.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley OIDC issuer",
        description = "Accepts bearer tokens (JWT access or ID tokens) of one OpenID Connect issuer: one factory "
                + "configuration per issuer, e.g. dev.parley.identity.oidc~keycloak.")
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
}
