package dev.parley.core.internal;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import dev.parley.api.routing.AliasView;
import dev.parley.api.routing.AliasView.Target;
import dev.parley.api.routing.RoutingStrategy;

/**
 * Reads and writes aliases: {@code name=strategy:provider/model[@weight],...}. Refuses a malformed alias whole, with the
 * entry and the reason, so a typo never routes somewhere unexpected.
 */
final class AliasSyntax {
    /** Alias names: what a client may send as a model name without surprises. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,99}");
    static final int MAX_WEIGHT = 1000;

    private AliasSyntax() {
    }

    /** Parses one configuration entry {@code name=definition}. */
    static AliasView entry(String entry, String source) {
        String e = entry == null ? "" : entry.strip();
        int eq = e.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("alias '" + e + "' is not 'name=strategy:provider/model,...'");
        }
        return alias(e.substring(0, eq).strip(), e.substring(eq + 1), source);
    }

    /** Parses a definition {@code strategy:target,...} (strategy optional: priority) of the alias {@code name}. */
    static AliasView alias(String name, String definition, String source) {
        String n = name == null ? "" : name.strip();
        if (!NAME.matcher(n).matches()) {
            throw new IllegalArgumentException("alias name '" + n + "' must be 1-100 letters, digits, '.', '_', ':' or "
                    + "'-', starting with a letter or digit");
        }
        String d = definition == null ? "" : definition.strip();
        RoutingStrategy strategy = RoutingStrategy.PRIORITY;
        int colon = d.indexOf(':');
        int slash = d.indexOf('/');
        if (colon >= 0 && (slash < 0 || colon < slash)) {
            String label = d.substring(0, colon).strip();
            strategy = RoutingStrategy.of(label);
            if (strategy == null) {
                throw new IllegalArgumentException("alias '" + n + "': unknown strategy '" + label
                        + "' (priority, weighted, least-latency, cost)");
            }
            d = d.substring(colon + 1);
        }
        List<Target> targets = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String raw : d.split(",")) {
            String t = raw.strip();
            if (t.isEmpty()) {
                continue;
            }
            Target target = target(n, t);
            if (!seen.add(target.toString())) {
                throw new IllegalArgumentException("alias '" + n + "': target '" + target + "' is listed twice");
            }
            targets.add(target);
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("alias '" + n + "' has no targets; give 'provider/model,...'");
        }
        return new AliasView(n, strategy, targets, format(strategy, targets), source);
    }

    private static Target target(String alias, String t) {
        int weight = 1;
        int at = t.lastIndexOf('@');
        String ref = t;
        if (at >= 0) {
            String w = t.substring(at + 1).strip();
            try {
                weight = Integer.parseInt(w);
            } catch (NumberFormatException e) {
                weight = -1;
            }
            if (weight < 1 || weight > MAX_WEIGHT) {
                throw new IllegalArgumentException("alias '" + alias + "': weight '" + w + "' of '" + t
                        + "' is not a whole number from 1 to " + MAX_WEIGHT);
            }
            ref = t.substring(0, at).strip();
        }
        int slash = ref.indexOf('/');
        if (slash <= 0 || slash == ref.length() - 1) {
            throw new IllegalArgumentException("alias '" + alias + "': target '" + t + "' is not 'provider/model'");
        }
        return new Target(ref.substring(0, slash).strip(), ref.substring(slash + 1).strip(), weight);
    }

    /** The canonical definition: strategy, then targets, weights only where they are not 1. */
    static String format(RoutingStrategy strategy, List<Target> targets) {
        StringBuilder b = new StringBuilder(strategy.label()).append(':');
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            b.append(i == 0 ? "" : ",").append(t.providerId()).append('/').append(t.modelId());
            if (t.weight() != 1) {
                b.append('@').append(t.weight());
            }
        }
        return b.toString();
    }
}
