package dev.parley.identity.internal;

import java.time.Duration;

/** The checked configuration. */
record IdentitySettings(String issuer, Duration accessTokenLifetime, Duration refreshTokenLifetime,
        int lockoutThreshold, Duration lockoutDuration, int passwordMinLength, PasswordHasher.Params argon2,
        int maxConcurrentHashes, Duration clockSkew, Duration revocationRefresh, Duration signingKeyRotation,
        String bootstrapAdminPassword) {
    /** The audience of every access token. */
    static final String AUDIENCE = "parley";

    static IdentitySettings from(IdentityConfig c) {
        String issuer = c.issuer() == null ? "" : c.issuer().strip();
        if (issuer.isEmpty() || issuer.length() > 200) {
            throw new IllegalArgumentException("issuer must be 1 to 200 characters");
        }
        return new IdentitySettings(issuer,
                Duration.ofMinutes(range("accessTokenMinutes", c.accessTokenMinutes(), 1, 1440)),
                Duration.ofDays(range("refreshTokenDays", c.refreshTokenDays(), 1, 365)),
                range("lockoutThreshold", c.lockoutThreshold(), 1, 100),
                Duration.ofMinutes(range("lockoutMinutes", c.lockoutMinutes(), 1, 10080)),
                range("passwordMinLength", c.passwordMinLength(), 8, 256),
                new PasswordHasher.Params(range("argon2MemoryKiB", c.argon2MemoryKiB(), 8192, 1048576),
                        range("argon2Iterations", c.argon2Iterations(), 1, 20),
                        range("argon2Parallelism", c.argon2Parallelism(), 1, 16)),
                range("maxConcurrentHashes", c.maxConcurrentHashes(), 1, 64),
                Duration.ofSeconds(range("clockSkewSeconds", c.clockSkewSeconds(), 0, 300)),
                Duration.ofSeconds(range("revocationRefreshSeconds", c.revocationRefreshSeconds(), 1, 60)),
                Duration.ofDays(range("signingKeyRotationDays", c.signingKeyRotationDays(), 0, 3650)),
                c._bootstrapAdminPassword() == null ? "" : c._bootstrapAdminPassword());
    }

    private static int range(String name, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + " must be between " + min + " and " + max + ", not " + value);
        }
        return value;
    }

    /** How long after its revocation a session can still hold a valid access token. */
    Duration revocationWindow() {
        return accessTokenLifetime.plus(clockSkew);
    }
}
