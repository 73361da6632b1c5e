package dev.parley.example.echo.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(
        name = "Echo provider (example)",
        description = "A model that answers with the plugin's version and the last user message, word by word.")
public @interface EchoConfig {

    String PID = "dev.parley.example.echo";

    // The defaults live here once: the annotation's defaults below and EchoSettings.DEFAULTS both use them.
    long DEFAULT_TOKEN_DELAY_MS = 0;
    String DEFAULT_PREFIX = "[echo {version}]";
    int DEFAULT_DRAIN_TIMEOUT_SECONDS = 30;

    @AttributeDefinition(name = "Delay per token (ms)", min = "0",
            description = "How long to wait before each word. Set it to e.g. 300 to watch an upgrade: answers "
                    + "streaming while you upgrade finish on the old version, new ones come from the new version.")
    long tokenDelayMs() default DEFAULT_TOKEN_DELAY_MS;

    @AttributeDefinition(name = "Prefix",
            description = "Put before the answer; {version} becomes the plugin's Bundle-Version.")
    String prefix() default DEFAULT_PREFIX;

    @AttributeDefinition(name = "Drain timeout (s)", min = "0",
            description = "When the plugin stops or is upgraded, how long answers already streaming may take to "
                    + "finish before they are cut off with an error.")
    int drainTimeoutSeconds() default DEFAULT_DRAIN_TIMEOUT_SECONDS;
}
