package dev.parley.modelaccess.internal;

import dev.parley.api.error.ParleyException;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** The admin APIs' bodies, checked: every mistake is a 400 naming the field, before anything is stored. */
final class AccessRules {
    static final int MAX_MODEL_ID = 300;
    static final int MAX_TENANT_ID = 64;
    static final int MAX_PLUGIN_ID = 200;
    static final int MAX_ENTRIES = 1000;
    private static final Pattern PLUGIN_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    /** A tenant's models as a PUT or PATCH gives them; {@code defaultEnabled} null: unchanged (PATCH) or enabled. */
    record ModelsChange(Boolean defaultEnabled, Map<String, Boolean> models) {
    }

    /** A plugin's tenants as a PUT gives them. */
    record PluginChange(boolean restricted, Set<String> allowed, Set<String> denied) {
    }

    private AccessRules() {
    }

    /**
     * {@code {"default": "enabled"|"disabled", "models": {"<id>": true|false}}}; in a PATCH a model may be null
     * (back to the default).
     */
    static ModelsChange models(Map<String, Object> body, boolean patch) {
        if (body == null) {
            throw ParleyException.invalid(null, "The request body must be a JSON object.");
        }
        for (String key : body.keySet()) {
            if (!key.equals("default") && !key.equals("models")) {
                throw ParleyException.invalid(key, "Unknown field '" + shorten(key) + "'; the fields are 'default' "
                        + "and 'models'.");
            }
        }
        Boolean defaultEnabled = null;
        Object d = body.get("default");
        if (d != null) {
            if ("enabled".equals(d)) {
                defaultEnabled = true;
            } else if ("disabled".equals(d)) {
                defaultEnabled = false;
            } else {
                throw ParleyException.invalid("default", "'default' must be \"enabled\" or \"disabled\".");
            }
        }
        Map<String, Boolean> models = new LinkedHashMap<>();
        Object m = body.get("models");
        if (m != null) {
            if (!(m instanceof Map<?, ?> map)) {
                throw ParleyException.invalid("models", "'models' must be an object of model ids to true (enabled) "
                        + "or false (disabled).");
            }
            if (map.size() > MAX_ENTRIES) {
                throw ParleyException.invalid("models", "At most " + MAX_ENTRIES + " models per request.");
            }
            for (Map.Entry<?, ?> e : map.entrySet()) {
                String id = String.valueOf(e.getKey());
                String param = "models." + shorten(id);
                if (id.isBlank() || id.length() > MAX_MODEL_ID || !id.equals(id.strip())) {
                    throw ParleyException.invalid(param, "A model id is 1 to " + MAX_MODEL_ID + " characters, "
                            + "without surrounding spaces.");
                }
                Object v = e.getValue();
                if (v instanceof Boolean b) {
                    models.put(id, b);
                } else if (v == null && patch) {
                    models.put(id, null);
                } else {
                    throw ParleyException.invalid(param, "'" + shorten(id) + "' must be true (enabled) or false "
                            + "(disabled)" + (patch ? ", or null (back to the default)." : "."));
                }
            }
        } else if (d == null) {
            throw ParleyException.invalid(null, "Name 'default', 'models' or both.");
        }
        return new ModelsChange(defaultEnabled, models);
    }

    /** {@code {"restricted_to": [tenant…] | null, "disabled_for": [tenant…]}}. */
    static PluginChange plugin(Map<String, Object> body) {
        if (body == null) {
            throw ParleyException.invalid(null, "The request body must be a JSON object.");
        }
        for (String key : body.keySet()) {
            if (!key.equals("restricted_to") && !key.equals("disabled_for")) {
                throw ParleyException.invalid(key, "Unknown field '" + shorten(key) + "'; the fields are "
                        + "'restricted_to' and 'disabled_for'.");
            }
        }
        Object r = body.get("restricted_to");
        Set<String> allowed = r == null ? Set.of() : tenants("restricted_to", r);
        Set<String> denied = body.get("disabled_for") == null ? Set.of() : tenants("disabled_for",
                body.get("disabled_for"));
        for (String t : denied) {
            if (allowed.contains(t)) {
                throw ParleyException.invalid("disabled_for", "Tenant '" + t + "' is both in 'restricted_to' and "
                        + "in 'disabled_for'.");
            }
        }
        return new PluginChange(r != null, allowed, denied);
    }

    private static Set<String> tenants(String field, Object value) {
        if (!(value instanceof List<?> list)) {
            throw ParleyException.invalid(field, "'" + field + "' must be an array of tenant ids.");
        }
        if (list.size() > MAX_ENTRIES) {
            throw ParleyException.invalid(field, "At most " + MAX_ENTRIES + " tenants.");
        }
        Set<String> out = new LinkedHashSet<>();
        for (Object o : list) {
            if (!(o instanceof String s) || s.isBlank() || s.length() > MAX_TENANT_ID || !s.equals(s.strip())) {
                throw ParleyException.invalid(field, "'" + field + "' holds tenant ids: strings of 1 to "
                        + MAX_TENANT_ID + " characters.");
            }
            out.add(s);
        }
        return out;
    }

    static String pluginId(String id) {
        if (id == null || id.length() > MAX_PLUGIN_ID || !PLUGIN_ID.matcher(id).matches()) {
            throw ParleyException.invalid("plugin", "A plugin id is 1 to " + MAX_PLUGIN_ID + " letters, digits, "
                    + "'.', '_' or '-', starting with a letter or digit.");
        }
        return id;
    }

    static String tenantParam(String tenant) {
        if (tenant == null || tenant.isBlank()) {
            return null;
        }
        if (tenant.length() > MAX_TENANT_ID) {
            throw ParleyException.invalid("tenant", "Query parameter 'tenant' is at most " + MAX_TENANT_ID
                    + " characters.");
        }
        return tenant.strip();
    }

    static String shorten(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "…";
    }
}
