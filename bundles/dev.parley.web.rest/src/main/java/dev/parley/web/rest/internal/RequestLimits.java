package dev.parley.web.rest.internal;

import dev.parley.api.identity.Principal;
import dev.parley.api.limits.RateLimit;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The request limits in force, read from {@link RequestLimitsConfig}: which buckets a request takes one unit from.
 * A bucket's name says whose it is, and is the same on every node, so that nodes sharing the limiter's Redis share
 * one limit: {@code rl:key:<credential id>}, {@code rl:user:<tenant>:<subject>}, {@code rl:tenant:<tenant>},
 * {@code rl:ip:<address>}.
 *
 * @param key per credential (API key, sign-in session); null: no limit
 * @param user per user of a tenant; null: no limit
 * @param tenant per tenant unless {@code tenants} names it; null: no limit
 * @param tenants per-tenant overrides; an empty value: no limit for that tenant
 * @param signIn per client address on the sign-in routes; null: no limit
 */
record RequestLimits(RateLimit key, RateLimit user, RateLimit tenant, Map<String, Optional<RateLimit>> tenants,
        RateLimit signIn) {
    static final Duration MINUTE = Duration.ofMinutes(1);
    /** The rate limiter's longest bucket name. */
    static final int MAX_KEY_CHARS = 512;

    /** No limit anywhere. */
    static final RequestLimits NONE = new RequestLimits(null, null, null, Map.of(), null);

    RequestLimits {
        tenants = Map.copyOf(tenants);
    }

    /** The levels a request is limited at; {@link #policy} names it in the RateLimit headers. */
    enum Level {
        KEY("key", "this credential (API key or sign-in session)"),
        USER("user", "this user"),
        TENANT("tenant", "this tenant"),
        IP("sign-in", "sign-in from this address");

        final String policy;
        final String whose;

        Level(String policy, String whose) {
            this.policy = policy;
            this.whose = whose;
        }
    }

    /** One bucket a request takes a unit from. */
    record Bucket(Level level, String key, RateLimit limit) {
    }

    /**
     * The limits of {@code config}.
     *
     * @throws IllegalArgumentException for a negative rate or a tenant override that does not parse
     */
    static RequestLimits from(RequestLimitsConfig config) {
        return new RequestLimits(perMinute("key", config.keyRequestsPerMinute(), config.keyBurst()),
                perMinute("user", config.userRequestsPerMinute(), config.userBurst()),
                perMinute("tenant", config.tenantRequestsPerMinute(), config.tenantBurst()),
                tenantOverrides(config.tenantLimits()),
                perMinute("sign-in", config.signInRequestsPerMinute(), config.signInBurst()));
    }

    /** {@code perMinute} requests a minute, {@code burst} at once (kept within 1 … perMinute); null for 0. */
    static RateLimit perMinute(String what, long perMinute, long burst) {
        if (perMinute < 0) {
            throw new IllegalArgumentException("Requests per minute (" + what + ") must not be negative: " + perMinute);
        }
        if (perMinute == 0) {
            return null;
        }
        return new RateLimit(perMinute, MINUTE, Math.max(1, Math.min(burst, perMinute)));
    }

    /** {@code tenant=requestsPerMinute[/burst]} entries; a burst not given is a sixth of the rate (ten seconds). */
    static Map<String, Optional<RateLimit>> tenantOverrides(String[] entries) {
        Map<String, Optional<RateLimit>> out = new LinkedHashMap<>();
        for (String raw : entries == null ? new String[0] : entries) {
            String entry = raw == null ? "" : raw.strip();
            if (entry.isEmpty()) {
                continue;
            }
            int eq = entry.indexOf('=');
            String tenant = eq < 0 ? "" : entry.substring(0, eq).strip();
            String value = eq < 0 ? "" : entry.substring(eq + 1).strip();
            if (tenant.isEmpty() || value.isEmpty()) {
                throw new IllegalArgumentException("A tenant limit is tenant=requestsPerMinute[/burst], not '" + entry
                        + "'");
            }
            long rate;
            long burst;
            try {
                int slash = value.indexOf('/');
                rate = Long.parseLong(slash < 0 ? value : value.substring(0, slash).strip());
                burst = slash < 0 ? Math.max(1, rate / 6) : Long.parseLong(value.substring(slash + 1).strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("A tenant limit is tenant=requestsPerMinute[/burst], not '" + entry
                        + "'");
            }
            if (burst < 1 && rate > 0) {
                throw new IllegalArgumentException("The burst of a tenant limit must be at least 1: '" + entry + "'");
            }
            out.put(tenant, Optional.ofNullable(perMinute("tenant " + tenant, rate, burst)));
        }
        return out;
    }

    /** The buckets a request of {@code principal} takes from: its credential's, its user's, its tenant's. */
    List<Bucket> buckets(Principal principal) {
        List<Bucket> out = new ArrayList<>(3);
        if (key != null && !principal.credentialId().isEmpty()) {
            out.add(new Bucket(Level.KEY, name("rl:key:", principal.credentialId()), key));
        }
        if (user != null) {
            out.add(new Bucket(Level.USER, name("rl:user:", principal.tenantId() + ":" + principal.subject()), user));
        }
        Optional<RateLimit> override = tenants.get(principal.tenantId());
        RateLimit t = override != null ? override.orElse(null) : tenant;
        if (t != null) {
            out.add(new Bucket(Level.TENANT, name("rl:tenant:", principal.tenantId()), t));
        }
        return out;
    }

    /** The bucket of a sign-in request from {@code address}, if sign-in is limited. */
    List<Bucket> signIn(String address) {
        return signIn == null ? List.of() : List.of(new Bucket(Level.IP, name("rl:ip:", address), signIn));
    }

    /** {@code prefix + id}, or the id's SHA-256 when that would be longer than the limiter takes. */
    static String name(String prefix, String id) {
        if (prefix.length() + id.length() <= MAX_KEY_CHARS) {
            return prefix + id;
        }
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            return prefix + "sha256:" + HexFormat.of().formatHex(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
