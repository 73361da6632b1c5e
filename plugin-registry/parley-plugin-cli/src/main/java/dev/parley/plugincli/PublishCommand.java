package dev.parley.plugincli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.registry.PluginDescriptor;
import dev.parley.registry.PluginDescriptors;
import dev.parley.registry.Signatures;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "publish", mixinStandardHelpOptions = true,
        description = {"Check a plugin jar, sign it and upload it to a Parley registry.",
            "A version once published never changes: publishing it again is refused (409)."})
final class PublishCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "<jar>", description = "The plugin jar.")
    Path jar;

    @Option(names = "--registry", required = true, paramLabel = "<url>", description = "The registry, e.g. http://localhost:8080")
    String registry;

    @Option(names = "--key", required = true, paramLabel = "<file>", description = "The publisher's private key file.")
    Path key;

    @Option(names = "--channel", defaultValue = "stable", paramLabel = "<channel>",
            description = "stable (default) or beta.")
    String channel;

    @Option(names = "--token", defaultValue = "${env:PARLEY_TOKEN}", paramLabel = "<credential>",
            description = "API key or access token with registry:publish (default: $PARLEY_TOKEN).")
    String token;

    @Option(names = "--timeout", defaultValue = "60", paramLabel = "<seconds>", description = "HTTP timeout (default 60).")
    int timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        if (!channel.equals("stable") && !channel.equals("beta")) {
            throw new IllegalArgumentException("channel must be stable or beta, not '" + channel + "'");
        }
        byte[] bytes = KeyFiles.readJar(jar);
        // The registry runs the same check; doing it here gives the reason before anything is uploaded.
        PluginDescriptor plugin = PluginDescriptors.read(bytes);
        String signature = Base64.getEncoder().encodeToString(Signatures.sign(bytes, KeyFiles.read(key, "private key")));
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        out.println("publishing " + plugin.id() + " " + plugin.version() + " (publisher " + plugin.publisher()
                + ", channel " + channel + ") to " + registry);
        out.flush();

        var reply = new RegistryClient(registry, Duration.ofSeconds(Math.max(1, timeoutSeconds)), token)
                .publish(bytes, signature, channel);
        if (!reply.ok()) {
            err.println("refused: " + reply.problem());
            err.flush();
            return ParleyPlugin.FAILED;
        }
        JsonNode entry = reply.json();
        out.println("published " + plugin.id() + " " + plugin.version());
        if (entry != null) {
            out.println(RegistryClient.pretty(entry));
        }
        out.flush();
        return 0;
    }
}
