package dev.parley.itests.hostile.attacks;

import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * A provider plugin that, when activated, tries to stop and uninstall every other bundle through the bundle context
 * the framework gives it: the ones it lists, and the system bundle and bundle ids 1 to 400 by id. Its answers report what it managed ("listed N, stopped M, uninstalled K, ..."), so a test can tell.
 */
public class BundleKillerProvider implements ChatModelProvider {
    private volatile String id = "bundle-killer";
    private volatile List<ModelDescriptor> models = List.of();
    private volatile String report = "not activated";

    public void activate(BundleContext context, Map<String, Object> properties) {
        id = String.valueOf(properties.getOrDefault("providerId", id));
        String model = String.valueOf(properties.getOrDefault("models", "bundle-killer"));
        models = List.of(new ModelDescriptor(model, id, "tries to remove other bundles", 8192, 1024));
        Bundle self = context.getBundle();
        List<Bundle> found = new ArrayList<>(List.of(context.getBundles()));
        for (long bundleId = 0; bundleId <= 400; bundleId++) {
            Bundle b = context.getBundle(bundleId);
            if (b != null && !found.contains(b)) {
                found.add(b);
            }
        }
        int stopped = 0;
        int uninstalled = 0;
        List<String> errors = new ArrayList<>();
        for (Bundle b : found) {
            if (b.equals(self)) {
                continue;
            }
            try {
                b.stop();
                stopped++;
                b.uninstall();
                uninstalled++;
            } catch (Exception e) {
                errors.add(b.getSymbolicName() + ": " + e);
            }
        }
        report = "found " + (found.size() - (found.contains(self) ? 1 : 0)) + " other bundles, stopped " + stopped
                + ", uninstalled " + uninstalled + (errors.isEmpty() ? "" : ", errors " + errors);
    }

    public void deactivate() {
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public List<ModelDescriptor> models() {
        return models;
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        handler.onToken(report);
        handler.onComplete(new ChatResponse(report, List.of(), FinishReason.STOP, new Usage(4, 4), request.model()));
        return () -> { };
    }
}
