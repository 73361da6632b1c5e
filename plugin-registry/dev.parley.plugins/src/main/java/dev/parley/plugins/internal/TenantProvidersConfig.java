package dev.parley.plugins.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley tenant provider instances",
        description = "What tenants may do with provider instances of their own (their own key, their own models).")
public @interface TenantProvidersConfig {
    String PID = "dev.parley.plugins.tenants";

    @AttributeDefinition(description = "Most provider instances one tenant may run of its own (PARLEY_TENANT_PROVIDERS_MAX; "
            + "0: tenants run none).", min = "0")
    int max() default 5;

    @AttributeDefinition(description = "Hosts a tenant's own provider instance may point its URL settings at, one entry "
            + "per plugin: 'pluginId=host,host' (PARLEY_TENANT_PROVIDER_HOSTS, entries separated by ';'). A host is "
            + "'name' (default port), 'name:port' or 'name:*'; '*.domain' matches its subdomains; a leading 'http://' "
            + "allows plain HTTP to it. A plugin not listed: a tenant may not set any URL of it.")
    String[] hosts() default {"openai=api.openai.com", "anthropic=api.anthropic.com", "mistral=api.mistral.ai",
            "gemini=generativelanguage.googleapis.com",
            "azure-openai=*.openai.azure.com,*.cognitiveservices.azure.com,cognitiveservices.azure.com,"
                    + "login.microsoftonline.com"};

    @AttributeDefinition(description = "Seconds between two passes that bring this node's provider configurations in "
            + "line with the tenants' instances (a change made on this node applies at once).", min = "1")
    int reconcileIntervalSeconds() default 5;
}
