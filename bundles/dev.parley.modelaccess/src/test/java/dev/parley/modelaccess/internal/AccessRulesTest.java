package dev.parley.modelaccess.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The admin bodies: what is taken, and a 400 naming the field for each mistake. */
class AccessRulesTest {
    private static ParleyException refused(Runnable r) {
        ParleyException e = catchThrowableOfType(r::run, ParleyException.class);
        assertThat(e).isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        return e;
    }

    @Test
    void modelsTakeADefaultAndSettings() {
        AccessRules.ModelsChange c = AccessRules.models(Map.of("default", "disabled", "models",
                Map.of("gpt-4o", true)), false);
        assertThat(c.defaultEnabled()).isFalse();
        assertThat(c.models()).containsEntry("gpt-4o", true);

        Map<String, Object> models = new HashMap<>();
        models.put("gpt-4o", null);
        assertThat(AccessRules.models(Map.of("models", models), true).models()).containsEntry("gpt-4o", null);
    }

    @Test
    void badModelBodiesAreRefusedNamingTheField() {
        assertThat(refused(() -> AccessRules.models(null, false)).getMessage()).contains("JSON object");
        assertThat(refused(() -> AccessRules.models(Map.of("default", "maybe"), false)).param()).hasValue("default");
        assertThat(refused(() -> AccessRules.models(Map.of("models", List.of("x")), false)).param())
                .hasValue("models");
        assertThat(refused(() -> AccessRules.models(Map.of("models", Map.of("gpt-4o", "yes")), false)).param())
                .hasValue("models.gpt-4o");
        Map<String, Object> nulls = new HashMap<>();
        nulls.put("gpt-4o", null);
        assertThat(refused(() -> AccessRules.models(Map.of("models", nulls), false)).param())
                .hasValue("models.gpt-4o");
        assertThat(refused(() -> AccessRules.models(Map.of("models", Map.of(" x", true)), false)).param())
                .hasValue("models. x");
        assertThat(refused(() -> AccessRules.models(Map.of("colour", "red"), false)).param()).hasValue("colour");
        assertThat(refused(() -> AccessRules.models(Map.of(), false)).getMessage()).contains("'default'");
    }

    @Test
    void pluginRulesTakeTheListedAndTheDisabledTenants() {
        AccessRules.PluginChange c = AccessRules.plugin(Map.of("restricted_to", List.of("b"),
                "disabled_for", List.of("a")));
        assertThat(c.restricted()).isTrue();
        assertThat(c.allowed()).containsExactly("b");
        assertThat(c.denied()).containsExactly("a");
        AccessRules.PluginChange open = AccessRules.plugin(Map.of("disabled_for", List.of("a")));
        assertThat(open.restricted()).isFalse();

        assertThat(refused(() -> AccessRules.plugin(Map.of("restricted_to", "b"))).param()).hasValue("restricted_to");
        assertThat(refused(() -> AccessRules.plugin(Map.of("restricted_to", List.of("b"), "disabled_for",
                List.of("b")))).param()).hasValue("disabled_for");
        assertThat(refused(() -> AccessRules.plugin(Map.of("disabled_for", List.of(1)))).param())
                .hasValue("disabled_for");
        assertThat(refused(() -> AccessRules.pluginId("../etc")).param()).hasValue("plugin");
        assertThat(AccessRules.pluginId("azure-openai")).isEqualTo("azure-openai");
    }
}
