package dev.parley.example.echo.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(
        name = "Echo provider (example)",
        description = "A model that answers with the plugin's version and the last user message, word by word.")
public @interface EchoConfig {

    String PID = "dev.parley.example.echo";

    @AttributeDefinition(name = "Delay per token (ms)", min = "0",
            description = "How long to wait before each word. Useful to keep answers streaming in tests.")
    long tokenDelayMs() default 0;

    @AttributeDefinition(name = "Prefix",
            description = "Put before the echoed message; {version} becomes the plugin's Bundle-Version.")
    String prefix() default "[echo {version}]";

    @AttributeDefinition(name = "Drain timeout (s)", min = "0",
            description = "When the plugin stops or is upgraded, how long answers already streaming may take to "
                    + "finish before they are cut off with an error.")
    int drainTimeoutSeconds() default 30;
}
