package dev.parley.core.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.routing.AliasView;

/**
 * The router's configuration, parsed once per change. A malformed alias or error class is reported and left out; the
 * rest applies, so one typo does not take routing down.
 */
record RouterSettings(Map<String, AliasView> aliases, Set<ErrorCode> fallbackOn, int attemptsPerTarget,
        long retryBaseMillis, long retryMaxMillis, long maxRetryAfterMillis, int breakerFailureRatePercent,
        int breakerWindow, long breakerOpenMillis, int breakerHalfOpenCalls, long firstTokenTimeoutMillis,
        long answerTimeoutMillis, long maxAnswerChars, int stateRefreshSeconds, List<String> problems) {

    private static final Logger LOG = LoggerFactory.getLogger(RouterSettings.class);

    /** Error classes that say the request or its caller is at fault: another target would fail the same way. */
    static final Set<ErrorCode> NEVER_FALL_BACK = Collections.unmodifiableSet(EnumSet.of(ErrorCode.INVALID_REQUEST,
            ErrorCode.PROVIDER_AUTH, ErrorCode.PROVIDER_PERMISSION, ErrorCode.CONTENT_FILTERED,
            ErrorCode.CONTEXT_TOO_LONG, ErrorCode.CANCELLED, ErrorCode.TOO_LARGE, ErrorCode.UNAVAILABLE));

    static final Set<ErrorCode> DEFAULT_FALLBACK_ON = Collections.unmodifiableSet(EnumSet.of(ErrorCode.RATE_LIMITED,
            ErrorCode.OVERLOADED, ErrorCode.UPSTREAM_FAILURE, ErrorCode.UPSTREAM_TIMEOUT));

    static final String SOURCE_CONFIGURATION = "configuration";
    static final String SOURCE_ADMIN = "admin";

    RouterSettings {
        aliases = Collections.unmodifiableMap(new LinkedHashMap<>(aliases));
        fallbackOn = fallbackOn.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(fallbackOn));
        problems = List.copyOf(problems);
    }

    static RouterSettings of(RouterConfig c) {
        List<String> problems = new ArrayList<>();
        Map<String, AliasView> aliases = new LinkedHashMap<>();
        for (String entry : c.aliases() == null ? new String[0] : c.aliases()) {
            if (entry == null || entry.isBlank()) {
                continue;
            }
            try {
                AliasView a = AliasSyntax.entry(entry, SOURCE_CONFIGURATION);
                if (aliases.put(a.name(), a) != null) {
                    problems.add("alias '" + a.name() + "' is defined twice; the last definition applies");
                }
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
        }
        Set<ErrorCode> fallbackOn = EnumSet.noneOf(ErrorCode.class);
        for (String slug : c.fallbackOn() == null ? new String[0] : c.fallbackOn()) {
            if (slug == null || slug.isBlank()) {
                continue;
            }
            ErrorCode code = code(slug.strip());
            if (code == null) {
                problems.add("fallback error class '" + slug.strip() + "' is not an error code (e.g. rate-limited, "
                        + "overloaded, upstream-failure, upstream-timeout, upstream-protocol)");
            } else if (NEVER_FALL_BACK.contains(code)) {
                problems.add("fallback error class '" + code.slug() + "' is never retried elsewhere: another target "
                        + "would refuse the same request");
            } else {
                fallbackOn.add(code);
            }
        }
        return new RouterSettings(aliases, fallbackOn, clamp(c.retryMaxAttempts(), 1, 10),
                Math.max(0, c.retryBaseMillis()), Math.max(0, c.retryMaxMillis()), Math.max(0, c.maxRetryAfterMillis()),
                clamp(c.breakerFailureRatePercent(), 1, 100), Math.max(1, c.breakerWindow()),
                Math.max(1, c.breakerOpenMillis()), Math.max(1, c.breakerHalfOpenCalls()),
                Math.max(0, c.firstTokenTimeoutMillis()), Math.max(0, c.answerTimeoutMillis()),
                Math.max(0, c.maxAnswerChars()), Math.max(0, c.stateRefreshSeconds()), problems);
    }

    /** Logs what was left out, each with its reason. */
    RouterSettings report() {
        for (String p : problems) {
            LOG.error("event=router_config_invalid reason=\"{}\" hint=\"fix PID dev.parley.router or the "
                    + "PARLEY_MODEL_ALIASES/PARLEY_ROUTER_* environment; the rest of the configuration applies\"", p);
        }
        return this;
    }

    boolean sameBreaker(RouterSettings o) {
        return o != null && breakerFailureRatePercent == o.breakerFailureRatePercent
                && breakerWindow == o.breakerWindow && breakerOpenMillis == o.breakerOpenMillis
                && breakerHalfOpenCalls == o.breakerHalfOpenCalls && fallbackOn.equals(o.fallbackOn);
    }

    static ErrorCode code(String slug) {
        for (ErrorCode c : ErrorCode.values()) {
            if (c.slug().equalsIgnoreCase(slug) || c.name().equalsIgnoreCase(slug)) {
                return c;
            }
        }
        return null;
    }

    private static int clamp(int v, int min, int max) {
        return Math.max(min, Math.min(max, v));
    }
}
