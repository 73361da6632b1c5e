package dev.parley.provider.openai.internal;

import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.llm.ModelCapability;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The per-model entries of the provider's configuration, parsed once at activation: declared capabilities of chat
 * models ({@code modelCapabilities}) and the embedding models ({@code embeddingModels}). A malformed entry fails
 * activation with a message that names it, rather than being half understood.
 */
final class ModelSettings {
    static final int DEFAULT_BATCH = 2048;
    static final int DEFAULT_INPUT_TOKENS = 8191;

    private ModelSettings() {
    }

    /** {@code model=tools,vision,json_output}. */
    static Map<String, Set<ModelCapability>> capabilities(String[] entries) {
        Map<String, Set<ModelCapability>> out = new HashMap<>();
        if (entries == null) {
            return out;
        }
        for (String raw : entries) {
            String entry = raw == null ? "" : raw.trim();
            if (entry.isEmpty()) {
                continue;
            }
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("modelCapabilities entry '" + entry
                        + "' is not 'model=capability,...'");
            }
            Set<ModelCapability> caps = EnumSet.noneOf(ModelCapability.class);
            for (String c : entry.substring(eq + 1).split(",")) {
                String name = c.trim().toUpperCase(Locale.ROOT);
                if (name.isEmpty()) {
                    continue;
                }
                if (name.equals("JSON")) {
                    name = "JSON_OUTPUT";
                }
                try {
                    caps.add(ModelCapability.valueOf(name));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("modelCapabilities entry '" + entry + "': unknown capability '"
                            + c.trim() + "' (tools, vision, json_output)");
                }
            }
            // ModelDescriptor reads an empty set as "not declared": 'model=' cannot say "text only" (documented).
            out.put(entry.substring(0, eq).trim(), caps);
        }
        return out;
    }

    /** {@code id=dimensions[,batch=N][,tokens=N][,reducible]}. */
    static List<EmbeddingModel> embeddingModels(String[] entries, String providerId) {
        List<EmbeddingModel> out = new ArrayList<>();
        if (entries == null) {
            return out;
        }
        for (String raw : entries) {
            String entry = raw == null ? "" : raw.trim();
            if (entry.isEmpty()) {
                continue;
            }
            int eq = entry.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("embeddingModels entry '" + entry + "' is not 'id=dimensions[,...]'");
            }
            String id = entry.substring(0, eq).trim();
            String[] fields = entry.substring(eq + 1).split(",");
            int batch = DEFAULT_BATCH;
            int tokens = DEFAULT_INPUT_TOKENS;
            boolean reducible = false;
            int dimensions = positive(entry, fields[0].trim());
            for (int i = 1; i < fields.length; i++) {
                String f = fields[i].trim();
                if (f.equals("reducible")) {
                    reducible = true;
                } else if (f.startsWith("batch=")) {
                    batch = positive(entry, f.substring(6).trim());
                } else if (f.startsWith("tokens=")) {
                    tokens = positive(entry, f.substring(7).trim());
                } else if (!f.isEmpty()) {
                    throw new IllegalArgumentException("embeddingModels entry '" + entry + "': unknown option '" + f
                            + "' (batch=N, tokens=N, reducible)");
                }
            }
            out.add(new EmbeddingModel(id, providerId, dimensions, tokens, batch, reducible));
        }
        return out;
    }

    private static int positive(String entry, String value) {
        try {
            int n = Integer.parseInt(value);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("embeddingModels entry '" + entry + "': '" + value
                + "' is not a positive number");
    }
}
