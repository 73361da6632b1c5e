package dev.parley.plugins.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.osgi.framework.Bundle;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.metatype.AttributeDefinition;
import org.osgi.service.metatype.MetaTypeInformation;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;

/**
 * A plugin's settings as its Metatype declares them: shown as JSON Schema, validated against the attribute
 * definitions, and handed to Configuration Admin. Keys starting with a dot are secrets: accepted, never shown.
 */
final class PluginSettings {
    private final MetaTypeService metaType;
    private final ConfigurationAdmin configAdmin;

    PluginSettings(MetaTypeService metaType, ConfigurationAdmin configAdmin) {
        this.metaType = metaType;
        this.configAdmin = configAdmin;
    }

    /** PID → JSON Schema (draft 2020-12) of each configurable object the bundle declares. */
    Map<String, Object> schemas(Bundle bundle) {
        Map<String, Object> out = new LinkedHashMap<>();
        MetaTypeInformation info = metaType.getMetaTypeInformation(bundle);
        if (info == null) {
            return out;
        }
        for (String pid : info.getPids()) {
            out.put(pid, schema(info.getObjectClassDefinition(pid, null), java.util.Set.of()));
        }
        return out;
    }

    /**
     * Checks values against the PIDs' attribute definitions and converts them to the declared types.
     *
     * @throws ParleyException INVALID_REQUEST naming the PID, the key and what is wrong
     */
    Map<String, Map<String, Object>> validate(Bundle bundle, Map<String, Map<String, Object>> wanted) {
        MetaTypeInformation info = metaType.getMetaTypeInformation(bundle);
        List<String> pids = info == null ? List.of() : List.of(info.getPids());
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        for (var entry : wanted.entrySet()) {
            String pid = entry.getKey();
            if (!pids.contains(pid)) {
                throw invalid("plugin has no settings with PID " + pid + "; it declares " + pids);
            }
            out.put(pid, validate(pid, info.getObjectClassDefinition(pid, null), entry.getValue()));
        }
        return out;
    }

    /** The factory PIDs (one configuration per instance) the bundle's Metatype declares. */
    List<String> factoryPids(Bundle bundle) {
        MetaTypeInformation info = metaType.getMetaTypeInformation(bundle);
        String[] pids = info == null ? null : info.getFactoryPids();
        return pids == null ? List.of() : List.of(pids);
    }

    /** The definition of the bundle's {@code pid} (a PID or a factory PID); null when it declares none. */
    ObjectClassDefinition definition(Bundle bundle, String pid) {
        MetaTypeInformation info = metaType.getMetaTypeInformation(bundle);
        try {
            return info == null ? null : info.getObjectClassDefinition(pid, null);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** JSON Schema (draft 2020-12) of one definition, leaving out the attributes {@code hidden}. */
    Map<String, Object> schema(ObjectClassDefinition ocd, java.util.Set<String> hidden) {
        Map<String, Object> props = new LinkedHashMap<>();
        List<String> required = new ArrayList<>();
        for (AttributeDefinition ad : attributes(ocd, ObjectClassDefinition.ALL)) {
            if (!hidden.contains(ad.getID())) {
                props.put(ad.getID(), schema(ad));
            }
        }
        for (AttributeDefinition ad : attributes(ocd, ObjectClassDefinition.REQUIRED)) {
            if (ad.getDefaultValue() == null && !hidden.contains(ad.getID())) {
                required.add(ad.getID());
            }
        }
        Map<String, Object> schema = new LinkedHashMap<>();
        schema.put("$schema", "https://json-schema.org/draft/2020-12/schema");
        schema.put("title", ocd.getName());
        if (ocd.getDescription() != null) {
            schema.put("description", ocd.getDescription());
        }
        schema.put("type", "object");
        schema.put("properties", props);
        schema.put("required", required);
        schema.put("additionalProperties", false);
        return schema;
    }

    /**
     * Checks one PID's values against its attribute definitions and converts them to the declared types. A password
     * attribute is stored under its key with a leading dot (a secret: sealed at rest, kept out of service
     * properties), so the provider reads it as {@code .apiKey} however the admin named it.
     */
    Map<String, Object> validate(String pid, ObjectClassDefinition ocd, Map<String, Object> values) {
        Map<String, AttributeDefinition> ads = new LinkedHashMap<>();
        for (AttributeDefinition ad : attributes(ocd, ObjectClassDefinition.ALL)) {
            ads.put(ad.getID(), ad);
        }
        Map<String, Object> converted = new LinkedHashMap<>();
        for (var kv : values.entrySet()) {
            AttributeDefinition ad = ads.get(kv.getKey());
            if (ad == null) {
                throw invalid(pid + ": unknown setting '" + kv.getKey() + "'; known: " + ads.keySet());
            }
            converted.put(storedKey(ad), convert(pid, ad, kv.getValue()));
        }
        return converted;
    }

    /** The key a setting is stored and applied under: a password's gets a leading dot. */
    static String storedKey(AttributeDefinition ad) {
        String id = ad.getID();
        return ad.getType() == AttributeDefinition.PASSWORD && !id.startsWith(".") ? "." + id : id;
    }

    /** Applies settings through Configuration Admin; a PID whose values are unchanged is not touched. */
    void apply(Map<String, Map<String, Object>> config) {
        for (var entry : config.entrySet()) {
            try {
                Configuration c = configAdmin.getConfiguration(entry.getKey(), "?");
                Dictionary<String, Object> props = new Hashtable<>(entry.getValue());
                c.updateIfDifferent(props);
            } catch (IOException e) {
                throw new ParleyException(ErrorCode.STORE_FAILURE, "saving settings of " + entry.getKey() + " failed", e);
            }
        }
    }

    /** Current values of the bundle's PIDs, secrets left out. */
    Map<String, Map<String, Object>> current(Bundle bundle) {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        MetaTypeInformation info = metaType.getMetaTypeInformation(bundle);
        if (info == null) {
            return out;
        }
        for (String pid : info.getPids()) {
            Map<String, Object> values = new LinkedHashMap<>();
            try {
                Configuration[] found = configAdmin.listConfigurations("(service.pid=" + pid + ")");
                if (found != null && found[0].getProperties() != null) {
                    var props = found[0].getProperties();
                    for (var keys = props.keys(); keys.hasMoreElements();) {
                        String k = keys.nextElement();
                        if (!k.startsWith(".") && !k.startsWith("service.") && !k.equals("felix.fileinstall.filename")) {
                            values.put(k, props.get(k));
                        }
                    }
                }
            } catch (IOException | org.osgi.framework.InvalidSyntaxException e) {
                throw new ParleyException(ErrorCode.STORE_FAILURE, "reading settings of " + pid + " failed", e);
            }
            out.put(pid, values);
        }
        return out;
    }

    private static AttributeDefinition[] attributes(ObjectClassDefinition ocd, int filter) {
        AttributeDefinition[] ads = ocd.getAttributeDefinitions(filter);
        return ads == null ? new AttributeDefinition[0] : ads;
    }

    private static Map<String, Object> schema(AttributeDefinition ad) {
        Map<String, Object> s = new LinkedHashMap<>();
        String type = switch (ad.getType()) {
            case AttributeDefinition.INTEGER, AttributeDefinition.LONG, AttributeDefinition.SHORT, AttributeDefinition.BYTE ->
                    "integer";
            case AttributeDefinition.DOUBLE, AttributeDefinition.FLOAT -> "number";
            case AttributeDefinition.BOOLEAN -> "boolean";
            default -> "string";
        };
        if (ad.getName() != null) {
            s.put("title", ad.getName());
        }
        if (ad.getDescription() != null) {
            s.put("description", ad.getDescription());
        }
        Map<String, Object> item = new LinkedHashMap<>();
        item.put("type", type);
        if (ad.getType() == AttributeDefinition.PASSWORD) {
            item.put("format", "password");
            item.put("writeOnly", true);
        }
        if (ad.getOptionValues() != null && ad.getOptionValues().length > 0) {
            item.put("enum", List.of(ad.getOptionValues()));
        }
        String[] defaults = ad.getDefaultValue();
        if (ad.getCardinality() == 0) {
            s.putAll(item);
            if (defaults != null && defaults.length > 0) {
                s.put("default", typed(ad, defaults[0]));
            }
        } else {
            s.put("type", "array");
            s.put("items", item);
            if (defaults != null) {
                s.put("default", java.util.Arrays.stream(defaults).map(d -> typed(ad, d)).toList());
            }
        }
        return s;
    }

    private static Object convert(String pid, AttributeDefinition ad, Object value) {
        if (ad.getCardinality() != 0) {
            List<?> list = value instanceof List<?> l ? l : List.of(value);
            List<Object> out = new ArrayList<>();
            for (Object v : list) {
                out.add(convert(pid, ad, String.valueOf(v), v));
            }
            return switch (ad.getType()) {
                case AttributeDefinition.INTEGER -> out.stream().mapToInt(o -> (Integer) o).toArray();
                case AttributeDefinition.LONG -> out.stream().mapToLong(o -> (Long) o).toArray();
                case AttributeDefinition.BOOLEAN -> out.toArray(Boolean[]::new);
                default -> out.stream().map(String::valueOf).toArray(String[]::new);
            };
        }
        if (value instanceof List<?> || value instanceof Map<?, ?>) {
            throw invalid(pid + ": setting '" + ad.getID() + "' takes a single value");
        }
        return convert(pid, ad, String.valueOf(value), value);
    }

    private static Object convert(String pid, AttributeDefinition ad, String text, Object raw) {
        String name = pid + ": setting '" + ad.getID() + "'";
        Object value;
        try {
            value = switch (ad.getType()) {
                case AttributeDefinition.INTEGER -> Integer.valueOf(text.strip());
                case AttributeDefinition.LONG -> Long.valueOf(text.strip());
                case AttributeDefinition.DOUBLE -> Double.valueOf(text.strip());
                case AttributeDefinition.FLOAT -> Float.valueOf(text.strip());
                case AttributeDefinition.BOOLEAN -> {
                    if (!(raw instanceof Boolean) && !"true".equalsIgnoreCase(text) && !"false".equalsIgnoreCase(text)) {
                        throw invalid(name + " must be true or false, got '" + text + "'");
                    }
                    yield Boolean.valueOf(text);
                }
                default -> text;
            };
        } catch (NumberFormatException e) {
            throw invalid(name + " must be " + (ad.getType() == AttributeDefinition.DOUBLE
                    || ad.getType() == AttributeDefinition.FLOAT ? "a number" : "a whole number") + ", got '" + text + "'");
        }
        // Range and option checks as the plugin declared them (min, max, options).
        String problem = ad.validate(text.strip());
        if (problem != null && !problem.isEmpty()) {
            throw invalid(name + " is invalid (" + problem + ")" + bounds(ad));
        }
        return value;
    }

    private static String bounds(AttributeDefinition ad) {
        String[] options = ad.getOptionValues();
        if (options != null && options.length > 0) {
            return "; allowed: " + List.of(options);
        }
        return "";
    }

    private static Object typed(AttributeDefinition ad, String text) {
        try {
            return switch (ad.getType()) {
                case AttributeDefinition.INTEGER, AttributeDefinition.LONG, AttributeDefinition.SHORT,
                        AttributeDefinition.BYTE -> Long.valueOf(text);
                case AttributeDefinition.DOUBLE, AttributeDefinition.FLOAT -> Double.valueOf(text);
                case AttributeDefinition.BOOLEAN -> Boolean.valueOf(text);
                default -> text;
            };
        } catch (NumberFormatException e) {
            return text;
        }
    }

    private static ParleyException invalid(String message) {
        return new ParleyException(ErrorCode.INVALID_REQUEST, message);
    }
}
