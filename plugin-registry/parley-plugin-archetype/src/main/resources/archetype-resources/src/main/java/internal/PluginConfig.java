package ${package}.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(
        name = "${pluginName}",
        description = "Settings of the ${pluginName} plugin.")
public @interface PluginConfig {

    String PID = "${package}";

    @AttributeDefinition(name = "Delay per token (ms)", min = "0",
            description = "How long to wait before each word. Useful to keep answers streaming in tests.")
    long tokenDelayMs() default 0;

    @AttributeDefinition(name = "Prefix",
            description = "Put before the answer; {version} becomes the plugin's Bundle-Version.")
    String prefix() default "[${pluginId} {version}]";

    @AttributeDefinition(name = "Drain timeout (s)", min = "0",
            description = "When the plugin stops or is upgraded, how long answers already streaming may take to "
                    + "finish before they are cut off with an error.")
    int drainTimeoutSeconds() default 30;
}
