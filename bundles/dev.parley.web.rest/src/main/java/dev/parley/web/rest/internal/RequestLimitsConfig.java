package dev.parley.web.rest.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * How many requests the edge lets through per API key or session, per user, per tenant, and per client address on
 * the sign-in routes. The defaults are far above what a person at a laptop sends and stop a runaway script.
 */
@ObjectClassDefinition(name = "Parley request rate limits",
        description = "Requests per minute and burst per credential (API key or sign-in session), per user and per "
                + "tenant, and per client address on the sign-in routes. 0 requests per minute: no limit at that "
                + "level. Where the buckets are kept (this process or Redis) is the rate limiter's setting.")
public @interface RequestLimitsConfig {
    String PID = "dev.parley.web.limits";

    @AttributeDefinition(name = "Per credential: requests per minute", min = "0",
            description = "Requests per minute of one API key or one sign-in session; 0: no limit.")
    int keyRequestsPerMinute() default 600;

    @AttributeDefinition(name = "Per credential: burst", min = "1",
            description = "Requests one credential may send at once; at most its requests per minute.")
    int keyBurst() default 100;

    @AttributeDefinition(name = "Per user: requests per minute", min = "0",
            description = "Requests per minute of one user (all of its keys and sessions together); 0: no limit.")
    int userRequestsPerMinute() default 1200;

    @AttributeDefinition(name = "Per user: burst", min = "1", description = "Requests one user may send at once.")
    int userBurst() default 200;

    @AttributeDefinition(name = "Per tenant: requests per minute", min = "0",
            description = "Requests per minute of one tenant (all of its users and keys together); 0: no limit.")
    int tenantRequestsPerMinute() default 6000;

    @AttributeDefinition(name = "Per tenant: burst", min = "1", description = "Requests one tenant may send at once.")
    int tenantBurst() default 1000;

    @AttributeDefinition(name = "Tenant overrides", required = false,
            description = "Per-tenant limits that replace the tenant default: tenant=requestsPerMinute[/burst], e.g. "
                    + "acme=30000/5000 (burst: a sixth of the rate when not given; 0 requests: no limit).")
    String[] tenantLimits() default {};

    @AttributeDefinition(name = "Sign-in per address: failed attempts per minute", min = "0",
            description = "POST /api/v1/auth/login and /api/v1/auth/refresh per client address, against password "
                    + "guessing: every attempt takes a unit when it starts, one that is not refused for its "
                    + "credentials (401) gives it back; 0: no limit.")
    int signInRequestsPerMinute() default 60;

    @AttributeDefinition(name = "Sign-in per address: burst", min = "1",
            description = "Failed sign-ins one address may make at once.")
    int signInBurst() default 30;
}
