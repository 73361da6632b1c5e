package dev.parley.identity.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley built-in sign-in",
        description = "Users and tenants kept in Parley's database, password sign-in, Parley's own access tokens "
                + "(ES256 JWTs) and rotating refresh tokens.")
public @interface IdentityConfig {
    /** The configuration PID. */
    String PID = "dev.parley.identity";

    @AttributeDefinition(name = "Issuer", description = "The iss of Parley's access tokens (PARLEY_AUTH_ISSUER). "
            + "Must differ from every OIDC issuer configured.")
    String issuer() default "parley";

    @AttributeDefinition(name = "Access token lifetime (minutes)", min = "1", max = "1440",
            description = "How long an access token is valid (PARLEY_AUTH_ACCESS_TOKEN_MINUTES).")
    int accessTokenMinutes() default 15;

    @AttributeDefinition(name = "Refresh token lifetime (days)", min = "1", max = "365",
            description = "How long a refresh token is valid; each refresh starts the time again "
                    + "(PARLEY_AUTH_REFRESH_TOKEN_DAYS).")
    int refreshTokenDays() default 14;

    @AttributeDefinition(name = "Lock-out threshold", min = "1", max = "100",
            description = "Wrong passwords in a row that lock an account (PARLEY_AUTH_LOCKOUT_THRESHOLD).")
    int lockoutThreshold() default 5;

    @AttributeDefinition(name = "Lock-out duration (minutes)", min = "1", max = "10080",
            description = "How long a locked account stays locked (PARLEY_AUTH_LOCKOUT_MINUTES).")
    int lockoutMinutes() default 15;

    @AttributeDefinition(name = "Password minimum (characters)", min = "8", max = "256",
            description = "The shortest password accepted for a new or changed password (PARLEY_PASSWORD_MIN_LENGTH).")
    int passwordMinLength() default 12;

    @AttributeDefinition(name = "Argon2id memory (KiB)", min = "8192", max = "1048576",
            description = "Memory per password hash; OWASP's minimum is 19456 (19 MiB) with 2 iterations. Raising it "
                    + "re-hashes each password at its next sign-in.")
    int argon2MemoryKiB() default 19456;

    @AttributeDefinition(name = "Argon2id iterations", min = "1", max = "20", description = "Passes over the memory.")
    int argon2Iterations() default 2;

    @AttributeDefinition(name = "Argon2id parallelism", min = "1", max = "16", description = "Lanes per hash.")
    int argon2Parallelism() default 1;

    @AttributeDefinition(name = "Concurrent password hashes", min = "1", max = "64",
            description = "Password hashes computed at once on this node (each takes the memory above); more wait.")
    int maxConcurrentHashes() default 4;

    @AttributeDefinition(name = "Clock skew (seconds)", min = "0", max = "300",
            description = "Tolerance on exp, nbf and iat when verifying access tokens.")
    int clockSkewSeconds() default 60;

    @AttributeDefinition(name = "Revocation refresh (seconds)", min = "1", max = "60",
            description = "How often each node reads revoked sessions, disabled and locked users and signing keys from "
                    + "the database: a revocation made on another node is honoured here within this time.")
    int revocationRefreshSeconds() default 5;

    @AttributeDefinition(name = "Signing key rotation (days)", min = "0", max = "3650",
            description = "A new signing key becomes current when the current one is this old (0: never by age). The "
                    + "previous key verifies until its tokens have expired.")
    int signingKeyRotationDays() default 30;

    // A key starting with a dot is never copied into service properties.
    @AttributeDefinition(name = "Bootstrap admin password", required = false, type = AttributeType.PASSWORD,
            description = "The password of user 'admin' created at the first start (PARLEY_BOOTSTRAP_ADMIN_PASSWORD). "
                    + "Not set: one is generated and written owner-only to <data dir>/bootstrap-admin-password.")
    String _bootstrapAdminPassword() default "";
}
