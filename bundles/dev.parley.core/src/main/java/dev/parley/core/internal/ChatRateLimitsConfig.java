package dev.parley.core.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Token and per-model rate limits, applied by core where the model and the tokens are known (the request limits per
 * credential, user and tenant are the edge's, PID {@code dev.parley.web.limits}). Every limit is per minute and may
 * be spent at once; 0 turns a limit off. Where the buckets live (this process or Redis) is the rate limiter's setting.
 */
@ObjectClassDefinition(name = "Parley token and model rate limits",
        description = "Tokens per minute per credential, user and tenant, and requests and tokens per minute per "
                + "model for each tenant. A request is admitted while its buckets have room for its estimate (prompt "
                + "plus max tokens, at most a minute's worth); what it really used is charged when the answer ends, "
                + "so a bucket may go into debt and refuse the next requests until it has drained. 0: no limit.")
public @interface ChatRateLimitsConfig {
    String PID = "dev.parley.chat.limits";

    @AttributeDefinition(name = "Per credential: tokens per minute", min = "0",
            description = "Prompt and answer tokens per minute of one API key or sign-in session; 0: no limit.")
    long keyTokensPerMinute() default 0;

    @AttributeDefinition(name = "Per user: tokens per minute", min = "0",
            description = "Prompt and answer tokens per minute of one user, all of its credentials together; 0: no "
                    + "limit.")
    long userTokensPerMinute() default 0;

    @AttributeDefinition(name = "Per tenant: tokens per minute", min = "0",
            description = "Prompt and answer tokens per minute of one tenant, all of its users together; 0: no limit.")
    long tenantTokensPerMinute() default 0;

    @AttributeDefinition(name = "Per model", required = false,
            description = "Limits per model for each tenant, so that one tenant cannot starve another on an "
                    + "expensive model: model=requestsPerMinute/tokensPerMinute, e.g. gpt-4o=60/200000 (0 on either "
                    + "side: no limit of that kind). The model is the one the request is routed to first, after "
                    + "alias resolution. A malformed entry is logged and ignored.")
    String[] modelLimits() default {};
}
