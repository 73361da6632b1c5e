package dev.parley.core.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley model router", description = "Which provider answers a model or alias: aliases "
        + "and their strategies, fallback and retries, circuit breakers per target, timeouts. Changes apply to new "
        + "requests at once; answers in progress finish as they started.")
public @interface RouterConfig {
    /** The configuration PID of the router. */
    String PID = "dev.parley.router";

    @AttributeDefinition(name = "Aliases", required = false, description = "One alias per entry: "
            + "'name=strategy:provider/model[@weight],...', e.g. 'fast=priority:openai/gpt-4o-mini,anthropic/"
            + "claude-3-5-haiku' or 'smart=weighted:openai/gpt-4o@3,anthropic/claude-sonnet-4@1'. Strategies: priority "
            + "(default), weighted, least-latency, cost. Environment: PARLEY_MODEL_ALIASES, entries separated by ';'.")
    String[] aliases() default {};

    @AttributeDefinition(name = "Fallback error classes", description = "Error codes after which the next target "
            + "is tried (and the same target retried first, see retry attempts). Never invalid-request, "
            + "provider-auth, provider-permission, content-filtered, context-too-long or cancelled. "
            + "Environment: PARLEY_ROUTER_FALLBACK_ON, comma separated.")
    String[] fallbackOn() default { "rate-limited", "overloaded", "upstream-failure", "upstream-timeout" };

    @AttributeDefinition(name = "Attempts per target", description = "Calls to one target before falling back to "
            + "the next, the first included. 1 (the default): no retries on the same target, the next target of an "
            + "alias answers at once; a bare model id fails as its provider failed. Environment: "
            + "PARLEY_ROUTER_RETRY_MAX_ATTEMPTS.", min = "1", max = "10")
    int retryMaxAttempts() default 1;

    @AttributeDefinition(name = "Retry base backoff (ms)", description = "First wait before a retry; doubles per "
            + "retry, with +-50 % jitter. Environment: PARLEY_ROUTER_RETRY_BASE_MS.", min = "0")
    long retryBaseMillis() default 200;

    @AttributeDefinition(name = "Retry maximum backoff (ms)", description = "Longest computed backoff. "
            + "Environment: PARLEY_ROUTER_RETRY_MAX_MS.", min = "0")
    long retryMaxMillis() default 2000;

    @AttributeDefinition(name = "Longest retry-after wait (ms)", description = "A provider's retry hint up to this "
            + "long is honoured before retrying the same target; a longer hint falls back to the next target at "
            + "once. Environment: PARLEY_ROUTER_MAX_RETRY_AFTER_MS.", min = "0")
    long maxRetryAfterMillis() default 5000;

    @AttributeDefinition(name = "Breaker failure rate (%)", description = "A target's breaker opens when this share "
            + "of the calls in its window failed (with a fallback error class). Environment: "
            + "PARLEY_ROUTER_BREAKER_FAILURE_RATE.", min = "1", max = "100")
    int breakerFailureRatePercent() default 50;

    @AttributeDefinition(name = "Breaker window (calls)", description = "How many recent calls the failure rate is "
            + "computed over; also the fewest calls before it can open. Environment: PARLEY_ROUTER_BREAKER_WINDOW.",
            min = "1")
    int breakerWindow() default 20;

    @AttributeDefinition(name = "Breaker open duration (ms)", description = "How long an open breaker skips its "
            + "target before letting probe calls through (half-open). Environment: PARLEY_ROUTER_BREAKER_OPEN_MS.",
            min = "1")
    long breakerOpenMillis() default 30000;

    @AttributeDefinition(name = "Breaker half-open probes", description = "Calls let through while half-open; "
            + "their failure rate closes or reopens it. Environment: PARLEY_ROUTER_BREAKER_HALF_OPEN_CALLS.", min = "1")
    int breakerHalfOpenCalls() default 2;

    @AttributeDefinition(name = "First-token timeout (ms)", description = "A streamed answer whose first token takes "
            + "longer fails with upstream-timeout (and falls back). 0: no limit. Environment: "
            + "PARLEY_ROUTER_FIRST_TOKEN_TIMEOUT_MS.", min = "0")
    long firstTokenTimeoutMillis() default 60000;

    @AttributeDefinition(name = "Answer timeout (ms)", description = "The longest a whole answer may take, retries "
            + "and fallbacks included; then it ends with upstream-timeout. 0: no limit. Environment: "
            + "PARLEY_ROUTER_ANSWER_TIMEOUT_MS.", min = "0")
    long answerTimeoutMillis() default 600000;

    @AttributeDefinition(name = "Longest answer (characters)", description = "The most characters of answer text and "
            + "tool call pieces one answer may carry; a provider that sends more is cut off (and told to stop) and the "
            + "answer ends with upstream-protocol, so a plugin cannot fill the server's memory with one answer. "
            + "0: no limit. Environment: PARLEY_ROUTER_MAX_ANSWER_CHARS.", min = "0")
    long maxAnswerChars() default 2000000;

    @AttributeDefinition(name = "State refresh (s)", description = "How often claims and admin aliases are re-read "
            + "from the database, to see other nodes' changes. 0: only at start and on this node's changes. "
            + "Environment: PARLEY_ROUTER_REFRESH_SECONDS.", min = "0")
    int stateRefreshSeconds() default 30;
}
