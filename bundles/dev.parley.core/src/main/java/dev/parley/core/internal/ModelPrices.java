package dev.parley.core.internal;

import java.math.BigDecimal;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.parley.api.llm.Usage;

/** What a turn cost, from the configured USD prices per million input and output tokens of each model. */
final class ModelPrices {
    static final ModelPrices NONE = new ModelPrices(Map.of());

    private record Price(double input, double output) {
    }

    private final Map<String, Price> byModel;

    private ModelPrices(Map<String, Price> byModel) {
        this.byModel = Map.copyOf(byModel);
    }

    /**
     * Parses {@code model=input:output} entries. A malformed entry is refused whole, with the entry and the reason,
     * so a typo in a price never turns into a silently wrong cost.
     */
    static ModelPrices parse(String[] entries) {
        if (entries == null || entries.length == 0) {
            return NONE;
        }
        Map<String, Price> prices = new HashMap<>();
        for (String raw : entries) {
            String entry = raw == null ? "" : raw.trim();
            if (entry.isEmpty()) {
                continue;
            }
            int eq = entry.lastIndexOf('=');
            int colon = entry.lastIndexOf(':');
            if (eq <= 0 || colon < eq) {
                throw new IllegalArgumentException("model price '" + entry + "' is not 'model=input:output' (USD per "
                        + "million tokens)");
            }
            String model = entry.substring(0, eq).trim();
            double input = number(entry, entry.substring(eq + 1, colon));
            double output = number(entry, entry.substring(colon + 1));
            prices.put(model, new Price(input, output));
        }
        return new ModelPrices(prices);
    }

    private static double number(String entry, String text) {
        try {
            double v = Double.parseDouble(text.trim());
            if (v < 0 || Double.isNaN(v) || Double.isInfinite(v)) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("model price '" + entry + "': '" + text.trim()
                    + "' is not a price (a number >= 0, USD per million tokens)");
        }
    }

    /**
     * The cost of {@code usage} on the target that answered, priced as {@code provider/model} ({@code target}) or
     * else by its bare {@code model} id; null when neither has a price.
     */
    BigDecimal costUsd(String target, String model, Usage usage) {
        double c = target == null ? -1 : cost(target, usage);
        if (c < 0) {
            c = cost(model, usage);
        }
        return c < 0 ? null : BigDecimal.valueOf(c);
    }

    /** The cost of {@code usage} on {@code model} in USD, or -1 when the model has no price. */
    double cost(String model, Usage usage) {
        Price p = model == null || usage == null ? null : byModel.get(model);
        if (p == null) {
            return -1;
        }
        return (usage.promptTokens() * p.input() + usage.completionTokens() * p.output()) / 1_000_000d;
    }

    /**
     * Input plus output price per million tokens of the first of {@code names} that has a price (a target is priced
     * as {@code provider/model} or by its bare model id), or -1 when none has: what the cost strategy sorts by.
     */
    double unitPrice(String... names) {
        for (String n : names) {
            Price p = byModel.get(n);
            if (p != null) {
                return p.input() + p.output();
            }
        }
        return -1;
    }

    List<dev.parley.api.routing.ModelPrice> all() {
        return byModel.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> new dev.parley.api.routing.ModelPrice(e.getKey(), e.getValue().input(),
                        e.getValue().output()))
                .toList();
    }

    List<String> models() {
        return List.copyOf(byModel.keySet());
    }
}
