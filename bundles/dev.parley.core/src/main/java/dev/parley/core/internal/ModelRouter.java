package dev.parley.core.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ModelDescriptor;

/**
 * Finds the provider serving a model among the providers that are up right now. Providers come and go at
 * any time, so every lookup reads their current model lists; nothing is cached.
 */
final class ModelRouter {
    static final String NO_PROVIDER_MESSAGE = "no model provider configured — set OPENAI_API_KEY/OPENAI_BASE_URL";

    private static final Logger LOG = LoggerFactory.getLogger(ModelRouter.class);

    /** A model and the provider object that serves it; a turn keeps this object even if the provider leaves. */
    record Route(ChatModelProvider provider, ModelDescriptor model) {
    }

    private final List<ChatModelProvider> providers = new CopyOnWriteArrayList<>();

    void add(ChatModelProvider provider) {
        providers.add(provider);
    }

    void remove(ChatModelProvider provider) {
        // By identity: two registrations of equal providers are still two services.
        providers.removeIf(p -> p == provider);
    }

    int providerCount() {
        return providers.size();
    }

    /** Every model of every provider that is up, sorted by id; a duplicate id goes to the provider bound last. */
    List<ModelDescriptor> models() {
        return routes().stream().map(Route::model).toList();
    }

    /**
     * @param requested    the model the caller asked for; null or blank to fall back
     * @param fallbacks    tried in order when {@code requested} is blank (e.g. conversation model, configured
     *                     default); null or blank entries are skipped; if all are blank the first model wins
     */
    Route resolve(String requested, String... fallbacks) {
        List<Route> routes = routes();
        if (providers.isEmpty()) {
            throw new ParleyException(ErrorCode.NO_PROVIDER, NO_PROVIDER_MESSAGE);
        }
        String wanted = blankToNull(requested);
        for (int i = 0; wanted == null && i < fallbacks.length; i++) {
            wanted = blankToNull(fallbacks[i]);
        }
        if (wanted == null) {
            if (routes.isEmpty()) {
                throw notFound("(any)", routes);
            }
            return routes.get(0);
        }
        for (Route r : routes) {
            if (r.model().id().equals(wanted)) {
                return r;
            }
        }
        throw notFound(wanted, routes);
    }

    private List<Route> routes() {
        List<Route> all = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        // Newest first: while a plugin is upgraded its old and new versions briefly offer the same models, and new
        // turns must go to the new one while the old one finishes the turns it started.
        List<ChatModelProvider> newestFirst = new ArrayList<>(providers);
        java.util.Collections.reverse(newestFirst);
        for (ChatModelProvider p : newestFirst) {
            List<ModelDescriptor> models;
            try {
                models = p.models();
            } catch (RuntimeException e) {
                // One broken plugin must not take routing down for the others.
                LOG.warn("provider models failed provider={}", safeId(p), e);
                continue;
            }
            if (models == null) {
                continue;
            }
            for (ModelDescriptor m : models) {
                if (m != null && seen.add(m.id())) {
                    all.add(new Route(p, m));
                }
            }
        }
        all.sort(Comparator.comparing(r -> r.model().id()));
        return all;
    }

    private static ParleyException notFound(String model, List<Route> routes) {
        String available = routes.isEmpty() ? "none"
                : routes.stream().map(r -> r.model().id()).collect(Collectors.joining(", "));
        return new ParleyException(ErrorCode.MODEL_NOT_FOUND,
                "model " + model + " is not available; available models: " + available);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    static String safeId(ChatModelProvider p) {
        try {
            return p.id();
        } catch (RuntimeException e) {
            return p.getClass().getName();
        }
    }
}
