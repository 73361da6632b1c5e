package dev.parley.registry.internal;

import java.util.Dictionary;

import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationPlugin;
import org.osgi.service.component.annotations.Component;

import dev.parley.registry.spi.RegistryStorage;

/**
 * Lets an admin choose the storage with one setting, {@code storage=s3}: DS binds a reference by the
 * {@code storage.target} filter, so this plugin derives that filter from {@code storage} whenever the registry's
 * configuration is handed to Declarative Services. An explicit {@code storage.target} is left alone.
 */
@Component(property = {ConfigurationPlugin.CM_TARGET + "=" + RegistryConfig.PID, ConfigurationPlugin.CM_RANKING + ":Integer=0"})
public class StorageTargetPlugin implements ConfigurationPlugin {
    static final String STORAGE = "storage";
    static final String STORAGE_TARGET = "storage.target";

    @Override
    public void modifyConfiguration(ServiceReference<?> reference, Dictionary<String, Object> properties) {
        if (properties.get(STORAGE_TARGET) != null) {
            return;
        }
        Object kind = properties.get(STORAGE);
        if (kind instanceof String s && !s.isBlank()) {
            properties.put(STORAGE_TARGET, filter(s.trim()));
        }
    }

    /** The filter that selects the storage service of one kind. */
    static String filter(String kind) {
        StringBuilder escaped = new StringBuilder();
        for (char c : kind.toCharArray()) {
            if (c == '\\' || c == '*' || c == '(' || c == ')') {
                escaped.append('\\');
            }
            escaped.append(c);
        }
        return "(" + RegistryStorage.KIND_PROPERTY + "=" + escaped + ")";
    }
}
