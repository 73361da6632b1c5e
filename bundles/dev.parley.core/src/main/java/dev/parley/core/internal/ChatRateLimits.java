package dev.parley.core.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import dev.parley.api.limits.RateLimitedException;
import dev.parley.api.limits.RateLimiter;
import dev.parley.api.limits.RateRequest;
import dev.parley.api.limits.Reservation;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Token and per-model rate limits on chat requests, decided where core knows the model (after alias resolution: the
 * model the request is routed to first, where budgets reserve too) and the tokens. One request reserves, in one
 * all-or-nothing limiter call: a request from its model's bucket for its tenant, and its token estimate (prompt plus
 * max tokens, at most the bucket's burst) from the model's token bucket for its tenant and from its credential's,
 * user's and tenant's token buckets. When the answer ends, however it ends, {@link Reservation#settle} charges the
 * tokens it really used beyond the estimate (into debt if need be) or gives back what it did not use; a request that
 * never reached a provider gives everything back.
 *
 * <p>Bucket names carry no node, so nodes sharing the limiter's Redis share each limit: {@code rl:model:<tenant>:<model>},
 * {@code rl:model-tokens:<tenant>:<model>}, {@code rl:tokens:key:<credential>}, {@code rl:tokens:user:<tenant>:<subject>},
 * {@code rl:tokens:tenant:<tenant>}. The break-glass admin token is not limited, as at the edge.
 */
@Component(service = ChatRateLimits.class, configurationPid = ChatRateLimitsConfig.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = ChatRateLimitsConfig.class)
public final class ChatRateLimits {
    private static final Logger LOG = LoggerFactory.getLogger(ChatRateLimits.class);
    static final Duration MINUTE = Duration.ofMinutes(1);
    private static final int MAX_KEY_CHARS = 512;

    /** A model's limits for each tenant; either may be null (no limit of that kind). */
    record ModelLimit(RateLimit requests, RateLimit tokens) {
    }

    /** The limits in force. */
    record Limits(RateLimit keyTokens, RateLimit userTokens, RateLimit tenantTokens, Map<String, ModelLimit> models) {
        static final Limits NONE = new Limits(null, null, null, Map.of());
    }

    private final RateLimiter limiter;
    private volatile Limits limits;

    @Activate
    public ChatRateLimits(@Reference RateLimiter limiter, ChatRateLimitsConfig config) {
        this.limiter = limiter;
        this.limits = from(config);
    }

    ChatRateLimits(RateLimiter limiter, Limits limits) {
        this.limiter = limiter;
        this.limits = limits;
    }

    @Modified
    void modified(ChatRateLimitsConfig config) {
        limits = from(config);
    }

    static Limits from(ChatRateLimitsConfig config) {
        return new Limits(perMinute("keyTokensPerMinute", config.keyTokensPerMinute()),
                perMinute("userTokensPerMinute", config.userTokensPerMinute()),
                perMinute("tenantTokensPerMinute", config.tenantTokensPerMinute()), models(config.modelLimits()));
    }

    /** {@code amount} per minute, all of it at once; null for 0 or less (a negative one is logged). */
    private static RateLimit perMinute(String what, long amount) {
        if (amount < 0) {
            LOG.error("event=rate_limit_invalid setting={} value={} reason=\"must not be negative\" hint=\"ignored: "
                    + "no limit\"", what, amount);
        }
        return amount <= 0 ? null : RateLimit.of(amount, MINUTE);
    }

    /**
     * {@code model=requestsPerMinute/tokensPerMinute} entries. A malformed entry is logged with what is wrong and
     * ignored: the other entries, and every other limit, stay in force.
     */
    static Map<String, ModelLimit> models(String[] entries) {
        Map<String, ModelLimit> out = new LinkedHashMap<>();
        for (String raw : entries == null ? new String[0] : entries) {
            String entry = raw == null ? "" : raw.strip();
            if (entry.isEmpty()) {
                continue;
            }
            // The numbers never hold '=', a model id might: the last one separates them.
            int eq = entry.lastIndexOf('=');
            String model = eq < 0 ? "" : entry.substring(0, eq).strip();
            String value = eq < 0 ? "" : entry.substring(eq + 1).strip();
            int slash = value.indexOf('/');
            long requests;
            long tokens;
            try {
                if (model.isEmpty() || slash < 0) {
                    throw new NumberFormatException();
                }
                requests = Long.parseLong(value.substring(0, slash).strip());
                tokens = Long.parseLong(value.substring(slash + 1).strip());
            } catch (NumberFormatException e) {
                LOG.error("event=model_limit_invalid entry=\"{}\" reason=\"not model=requestsPerMinute/tokensPerMinute\" "
                        + "hint=\"entry ignored: that model is not limited until it is fixed\"", entry);
                continue;
            }
            if (requests < 0 || tokens < 0) {
                LOG.error("event=model_limit_invalid entry=\"{}\" reason=\"negative limit\" hint=\"entry ignored: that "
                        + "model is not limited until it is fixed\"", entry);
                continue;
            }
            if (out.containsKey(model)) {
                LOG.error("event=model_limit_invalid entry=\"{}\" reason=\"model named twice\" hint=\"the later entry "
                        + "is ignored\"", entry);
                continue;
            }
            out.put(model, new ModelLimit(requests == 0 ? null : RateLimit.of(requests, MINUTE),
                    tokens == 0 ? null : RateLimit.of(tokens, MINUTE)));
        }
        return Map.copyOf(out);
    }

    Limits limits() {
        return limits;
    }

    /** Whether any token limit applies to {@code caller} on {@code model}: then a reservation needs a prompt count. */
    boolean countsTokens(Principal caller, String model) {
        if (exempt(caller)) {
            return false;
        }
        Limits l = limits;
        ModelLimit m = model == null ? null : l.models().get(model);
        return l.keyTokens() != null || l.userTokens() != null || l.tenantTokens() != null
                || (m != null && m.tokens() != null);
    }

    /**
     * Reserves one request and {@code estimatedTokens} (capped at each bucket's burst, at least 1) in every limit that
     * applies to {@code caller} on {@code model}, all or nothing.
     *
     * @throws RateLimitedException when a bucket has no room (nothing taken), naming the one with the longest wait
     * @throws ParleyException      {@code UNAVAILABLE} when the limiter cannot reach its store and fails closed
     */
    Reservation reserve(Principal caller, String model, long estimatedTokens) {
        if (exempt(caller)) {
            return Reservation.NONE;
        }
        List<Bucket> buckets = buckets(limits, caller, model);
        if (buckets.isEmpty()) {
            return Reservation.NONE;
        }
        List<RateRequest> requests = new ArrayList<>(buckets.size());
        for (Bucket b : buckets) {
            long cost = b.tokens() ? Math.max(1, Math.min(estimatedTokens, b.limit().burst())) : 1;
            requests.add(new RateRequest(b.key(), b.limit(), cost));
        }
        List<RateDecision> decisions = limiter.acquireAll(requests);
        int refused = -1;
        for (int i = 0; i < decisions.size(); i++) {
            RateDecision d = decisions.get(i);
            if (!d.allowed() && d.degraded()) {
                throw new ParleyException(ErrorCode.UNAVAILABLE,
                        "The rate limiter cannot reach its store and refuses requests until it can; try again.",
                        d.retryAfter(), null);
            }
            if (!d.allowed() && (refused < 0 || d.retryAfter().compareTo(decisions.get(refused).retryAfter()) > 0)) {
                refused = i;
            }
        }
        if (refused >= 0) {
            Bucket b = buckets.get(refused);
            RateDecision d = decisions.get(refused);
            LOG.debug("event=chat_rate_limited policy={} tenant={} model={} retryAfterMs={}", b.policy(),
                    caller.tenantId(), model, d.retryAfter().toMillis());
            throw new RateLimitedException(b.policy(), d, "Too many " + (b.tokens() ? "tokens" : "requests") + " for "
                    + b.whose() + ": the limit is " + b.limit().amount() + " per minute. Retry after "
                    + seconds(d.retryAfter()) + " s.");
        }
        return new Held(limiter, buckets, requests);
    }

    /**
     * {@code first}, then the reservation {@code then} makes, as one: ended together, each exactly once. When
     * {@code then} refuses (throws), {@code first} is given back before the refusal goes on.
     */
    static Reservation both(Reservation first, java.util.function.Supplier<Reservation> then) {
        Reservation second;
        try {
            second = then.get();
        } catch (RuntimeException e) {
            first.release();
            throw e;
        }
        if (first == Reservation.NONE) {
            return second;
        }
        if (second == Reservation.NONE) {
            return first;
        }
        return new Reservation() {
            @Override
            public void settle(int tokensUsed, BigDecimal costUsd) {
                first.settle(tokensUsed, costUsd);
                second.settle(tokensUsed, costUsd);
            }

            @Override
            public void release() {
                first.release();
                second.release();
            }
        };
    }

    private static boolean exempt(Principal caller) {
        return caller == null || caller.method() == AuthMethod.ADMIN_TOKEN;
    }

    /** One bucket a chat request takes from. */
    record Bucket(String policy, String whose, String key, RateLimit limit, boolean tokens) {
    }

    static List<Bucket> buckets(Limits l, Principal caller, String model) {
        List<Bucket> out = new ArrayList<>(5);
        ModelLimit m = model == null ? null : l.models().get(model);
        if (m != null && m.requests() != null) {
            out.add(new Bucket("model", "model '" + model + "' in this tenant",
                    name("rl:model:", caller.tenantId() + ":" + model), m.requests(), false));
        }
        if (m != null && m.tokens() != null) {
            out.add(new Bucket("model-tokens", "model '" + model + "' in this tenant",
                    name("rl:model-tokens:", caller.tenantId() + ":" + model), m.tokens(), true));
        }
        if (l.keyTokens() != null && !caller.credentialId().isEmpty()) {
            out.add(new Bucket("tokens-key", "this credential (API key or sign-in session)",
                    name("rl:tokens:key:", caller.credentialId()), l.keyTokens(), true));
        }
        if (l.userTokens() != null) {
            out.add(new Bucket("tokens-user", "this user",
                    name("rl:tokens:user:", caller.tenantId() + ":" + caller.subject()), l.userTokens(), true));
        }
        if (l.tenantTokens() != null) {
            out.add(new Bucket("tokens-tenant", "this tenant", name("rl:tokens:tenant:", caller.tenantId()),
                    l.tenantTokens(), true));
        }
        return out;
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

    private static long seconds(Duration d) {
        return Math.max(1, d.toSeconds() + (d.toNanosPart() > 0 ? 1 : 0));
    }

    /** What one request took; ends once. Never throws: a limiter that fails at the end is logged. */
    private static final class Held implements Reservation {
        private final RateLimiter limiter;
        private final List<Bucket> buckets;
        private final List<RateRequest> taken;
        private final AtomicBoolean ended = new AtomicBoolean();

        Held(RateLimiter limiter, List<Bucket> buckets, List<RateRequest> taken) {
            this.limiter = limiter;
            this.buckets = buckets;
            this.taken = taken;
        }

        @Override
        public void settle(int tokensUsed, BigDecimal costUsd) {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            for (int i = 0; i < buckets.size(); i++) {
                Bucket b = buckets.get(i);
                if (!b.tokens()) {
                    continue; // the request was used
                }
                RateRequest r = taken.get(i);
                long delta = Math.max(0, tokensUsed) - r.cost();
                try {
                    if (delta > 0) {
                        limiter.charge(r.key(), r.limit(), delta);
                    } else if (delta < 0) {
                        limiter.release(r.key(), r.limit(), -delta);
                    }
                } catch (RuntimeException e) {
                    LOG.error("event=rate_limit_settle_failed bucket={}", r.key(), e);
                }
            }
        }

        @Override
        public void release() {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            for (RateRequest r : taken) {
                try {
                    limiter.release(r.key(), r.limit(), r.cost());
                } catch (RuntimeException e) {
                    LOG.error("event=rate_limit_release_failed bucket={}", r.key(), e);
                }
            }
        }
    }
}
