/**
 * Rate limits: requests and tokens per window for a key, a user, a tenant or a model, decided by the generic cell
 * rate algorithm (GCRA). One limiter answers for the whole cluster when it is backed by a shared store; the edge maps
 * a refusal to HTTP 429 with {@code RateLimit-*} and {@code Retry-After} headers.
 *
 * <p>1.1: {@link dev.parley.api.limits.Budgets} and {@link dev.parley.api.limits.Reservation}: requests, tokens and
 * cost per day or month for a key, a user or a tenant, reserved before a request and settled when it ends.
 *
 * <p>1.2: {@link dev.parley.api.limits.RateLimiter#acquireAll} decides several buckets at once, all or nothing;
 * {@link dev.parley.api.limits.RateLimiter#charge} takes what a request used beyond its estimate, into debt if need
 * be (token limits); {@link dev.parley.api.limits.RateLimitedException} carries a refusal's policy to the edge's
 * headers; {@link dev.parley.api.limits.RequestRateLimits} applies the edge's request limits to WebSocket messages.
 * {@code Budgets.reserve} takes an estimate of the request's cost, reserved like its tokens.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package dev.parley.api.limits;
