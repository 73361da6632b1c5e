package dev.parley.provider.azure.internal;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The model ids clients use, mapped to the Azure deployment names that serve them. Azure routes by deployment, not
 * by model: {@code gpt-4o=prod-gpt4o} lets clients keep saying {@code gpt-4o}.
 */
record Deployments(Map<String, String> byModel, Map<String, Integer> dimensions) {

    Deployments {
        byModel = Collections.unmodifiableMap(new LinkedHashMap<>(byModel));
        dimensions = Collections.unmodifiableMap(new LinkedHashMap<>(dimensions));
    }

    /**
     * Parses {@code model=deployment} entries; a bare {@code name} is both. With {@code withDimensions}, an entry may
     * end in {@code :dimensions} ({@code text-embedding-3-small=emb:1536}).
     */
    static Deployments parse(String[] entries, boolean withDimensions) {
        Map<String, String> map = new LinkedHashMap<>();
        Map<String, Integer> dims = new LinkedHashMap<>();
        if (entries != null) {
            for (String raw : entries) {
                if (raw == null) {
                    continue;
                }
                for (String entry : raw.split(",")) {
                    entry = entry.trim();
                    if (entry.isEmpty()) {
                        continue;
                    }
                    Integer d = null;
                    if (withDimensions) {
                        int colon = entry.lastIndexOf(':');
                        if (colon > 0) {
                            try {
                                d = Integer.valueOf(entry.substring(colon + 1).trim());
                                entry = entry.substring(0, colon).trim();
                            } catch (NumberFormatException notDimensions) {
                                throw new IllegalArgumentException("embedding deployment '" + entry
                                        + "': dimensions after ':' must be a number");
                            }
                        }
                    }
                    int eq = entry.indexOf('=');
                    String model = (eq < 0 ? entry : entry.substring(0, eq)).trim();
                    String deployment = (eq < 0 ? entry : entry.substring(eq + 1)).trim();
                    if (model.isEmpty() || deployment.isEmpty() || !deployment.matches("[A-Za-z0-9._-]+")) {
                        throw new IllegalArgumentException("deployment entry '" + entry
                                + "' must be model=deployment (deployment names: letters, digits, '.', '_', '-')");
                    }
                    map.put(model, deployment);
                    if (d != null) {
                        if (d <= 0) {
                            throw new IllegalArgumentException("embedding deployment '" + entry + "': dimensions must be positive");
                        }
                        dims.put(model, d);
                    }
                }
            }
        }
        return new Deployments(map, dims);
    }

    /** The deployment serving {@code model}, or null. */
    String deploymentOf(String model) {
        return byModel.get(model);
    }
}
