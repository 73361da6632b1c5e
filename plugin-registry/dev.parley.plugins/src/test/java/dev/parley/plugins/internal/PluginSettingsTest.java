package dev.parley.plugins.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.io.InputStream;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.service.metatype.AttributeDefinition;
import org.osgi.service.metatype.MetaTypeInformation;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;

/** Metatype → JSON Schema, and settings checked and converted against the attribute definitions. */
class PluginSettingsTest {
    static final String PID = "dev.parley.example.echo";

    /** A definition as Felix Metatype hands it over, with min/max checks. */
    record Ad(String id, int type, int cardinality, String[] defaults, String[] options, Integer min, Integer max, boolean required)
            implements AttributeDefinition {
        @Override public String getName() { return id + " name"; }
        @Override public String getID() { return id; }
        @Override public String getDescription() { return "about " + id; }
        @Override public int getCardinality() { return cardinality; }
        @Override public int getType() { return type; }
        @Override public String[] getOptionValues() { return options; }
        @Override public String[] getOptionLabels() { return options; }
        @Override public String[] getDefaultValue() { return defaults; }

        @Override
        public String validate(String value) {
            if (options.length > 0 && !Arrays.asList(options).contains(value)) {
                return "not an option";
            }
            if (min != null && Long.parseLong(value) < min) {
                return "below " + min;
            }
            if (max != null && Long.parseLong(value) > max) {
                return "above " + max;
            }
            return "";
        }
    }

    private final List<AttributeDefinition> ads = List.of(
            new Ad("tokenDelayMs", AttributeDefinition.INTEGER, 0, new String[] {"0"}, new String[0], 0, 1000, true),
            new Ad("prefix", AttributeDefinition.STRING, 0, new String[] {"[echo]"}, new String[0], null, null, false),
            new Ad("mode", AttributeDefinition.STRING, 0, null, new String[] {"fast", "slow"}, null, null, true),
            new Ad("models", AttributeDefinition.STRING, 10, new String[] {"a", "b"}, new String[0], null, null, false),
            new Ad("verbose", AttributeDefinition.BOOLEAN, 0, new String[] {"false"}, new String[0], null, null, false),
            new Ad(".apiKey", AttributeDefinition.PASSWORD, 0, null, new String[0], null, null, false),
            new Ad("token", AttributeDefinition.PASSWORD, 0, null, new String[0], null, null, false));

    private final PluginSettings settings = new PluginSettings(metaType(), null);
    private final Bundle bundle = (Bundle) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Bundle.class},
            (p, m, a) -> null);

    private MetaTypeService metaType() {
        ObjectClassDefinition ocd = new ObjectClassDefinition() {
            @Override public String getName() { return "Echo"; }
            @Override public String getID() { return PID; }
            @Override public String getDescription() { return "An echo."; }
            @Override public InputStream getIcon(int size) { return null; }

            @Override
            public AttributeDefinition[] getAttributeDefinitions(int filter) {
                return ads.stream().filter(ad -> filter == ALL || (filter == REQUIRED) == ((Ad) ad).required())
                        .toArray(AttributeDefinition[]::new);
            }
        };
        MetaTypeInformation info = (MetaTypeInformation) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {MetaTypeInformation.class}, (p, m, a) -> switch (m.getName()) {
                    case "getPids" -> new String[] {PID};
                    case "getObjectClassDefinition" -> ocd;
                    default -> null;
                });
        return (MetaTypeService) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {MetaTypeService.class},
                (p, m, a) -> info);
    }

    @Test
    @SuppressWarnings("unchecked")
    void schemaDescribesTypesDefaultsOptionsArraysAndSecrets() {
        var schema = (Map<String, Object>) settings.schemas(bundle).get(PID);
        var props = (Map<String, Map<String, Object>>) schema.get("properties");

        assertThat(schema).containsEntry("type", "object").containsEntry("title", "Echo").containsEntry("additionalProperties", false);
        assertThat(props.get("tokenDelayMs")).containsEntry("type", "integer").containsEntry("default", 0L);
        assertThat(props.get("prefix")).containsEntry("type", "string").doesNotContainKey("enum");
        assertThat(props.get("mode")).containsEntry("enum", List.of("fast", "slow"));
        assertThat(props.get("models")).containsEntry("type", "array").containsEntry("default", List.of("a", "b"));
        assertThat(props.get("verbose")).containsEntry("type", "boolean").containsEntry("default", false);
        assertThat(props.get(".apiKey")).containsEntry("format", "password").containsEntry("writeOnly", true);
        // Required means: the plugin declares it required and gives no default.
        assertThat((List<String>) schema.get("required")).containsExactly("mode");
    }

    @Test
    void valuesAreConvertedToTheDeclaredTypes() {
        var valid = settings.validate(bundle, Map.of(PID, Map.of("tokenDelayMs", "15", "verbose", true,
                "models", List.of("x", "y"), "mode", "slow")));

        assertThat(valid.get(PID)).containsEntry("tokenDelayMs", 15).containsEntry("verbose", true)
                .containsEntry("mode", "slow");
        assertThat((String[]) valid.get(PID).get("models")).containsExactly("x", "y");
    }

    @Test
    void aPasswordIsStoredUnderADotKeySoItIsSealedAndNeverAServiceProperty() {
        var valid = settings.validate(bundle, Map.of(PID, Map.of("token", "t-secret", ".apiKey", "sk-secret",
                "prefix", "p")));

        assertThat(valid.get(PID)).containsEntry(".token", "t-secret").containsEntry(".apiKey", "sk-secret")
                .containsEntry("prefix", "p").doesNotContainKey("token");
    }

    @Test
    void everyKindOfBadValueIsRefusedWithWhatIsWrong() {
        assertRefused(Map.of("tokenDelayMs", "fast"), "tokenDelayMs", "whole number", "'fast'");
        assertRefused(Map.of("tokenDelayMs", 5000), "tokenDelayMs", "above 1000");
        assertRefused(Map.of("mode", "medium"), "mode", "allowed: [fast, slow]");
        assertRefused(Map.of("verbose", "yes"), "verbose", "true or false");
        assertRefused(Map.of("prefix", List.of("a", "b")), "prefix", "single value");
        assertRefused(Map.of("bogus", 1), "unknown setting 'bogus'", "tokenDelayMs");
        assertThatThrownBy(() -> settings.validate(bundle, Map.of("other.pid", Map.of("x", 1))))
                .hasMessageContaining("no settings with PID other.pid");
    }

    private void assertRefused(Map<String, Object> values, String... parts) {
        assertThatThrownBy(() -> settings.validate(bundle, Map.of(PID, values)))
                .isInstanceOfSatisfying(ParleyException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    for (String part : parts) {
                        assertThat(e.getMessage()).contains(part);
                    }
                });
    }

    @Test
    void secretsAreNeverShownInTheState() {
        var d = new PluginStateStore.Desired("echo", "1.0.0", true, null,
                Map.of(PID, Map.of(".apiKey", "sk-secret", "prefix", "p")), 1, java.time.Instant.now(), "admin");

        var shown = PluginOperations.withoutSecrets(d);

        assertThat(shown.config().get(PID)).containsEntry(".apiKey", "(secret)").containsEntry("prefix", "p");
        assertThat(shown.toString()).doesNotContain("sk-secret");
    }
}
