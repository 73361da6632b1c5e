package dev.parley.plugincli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "list", mixinStandardHelpOptions = true, description = "List the plugin versions a registry holds.")
final class ListCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--registry", required = true, paramLabel = "<url>", description = "The registry, e.g. http://localhost:8080")
    String registry;

    @Option(names = "--json", description = "Print the registry's JSON as it came.")
    boolean json;

    @Option(names = "--token", defaultValue = "${env:PARLEY_TOKEN}", paramLabel = "<credential>",
            description = "API key or access token with plugins:admin (default: $PARLEY_TOKEN).")
    String token;

    @Option(names = "--timeout", defaultValue = "60", paramLabel = "<seconds>", description = "HTTP timeout (default 60).")
    int timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        var out = spec.commandLine().getOut();
        var reply = new RegistryClient(registry, Duration.ofSeconds(Math.max(1, timeoutSeconds)), token).list();
        if (!reply.ok()) {
            spec.commandLine().getErr().println("failed: " + reply.problem());
            spec.commandLine().getErr().flush();
            return ParleyPlugin.FAILED;
        }
        JsonNode body = reply.json();
        if (body == null) {
            throw new IllegalStateException("the registry did not answer JSON: " + reply.problem());
        }
        if (json) {
            out.println(RegistryClient.pretty(body));
            out.flush();
            return 0;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"ID", "VERSION", "CHANNEL", "PUBLISHER", "TYPE", "API", "STATE"});
        for (JsonNode e : entries(body)) {
            rows.add(new String[] {
                e.path("id").asText(), e.path("version").asText(), e.path("channel").asText(),
                e.path("publisher").asText(), e.path("type").asText(), e.path("apiRange").asText(),
                e.path("yanked").asBoolean() ? "yanked" + (e.hasNonNull("yankReason") ? ": " + e.get("yankReason").asText() : "") : ""});
        }
        if (rows.size() == 1) {
            out.println("no plugins published");
        } else {
            print(rows, out);
        }
        out.flush();
        return 0;
    }

    /** The versions in a listing: plugins with their versions, or a plain array of version entries. */
    static List<JsonNode> entries(JsonNode body) {
        JsonNode array = body;
        if (body.isObject()) {
            array = null;
            for (String field : new String[] {"plugins", "entries", "items"}) {
                if (body.path(field).isArray()) {
                    array = body.get(field);
                    break;
                }
            }
        }
        if (array == null || !array.isArray()) {
            throw new IllegalStateException("the registry's listing is not a list of plugins");
        }
        List<JsonNode> list = new ArrayList<>();
        // The registry groups versions by plugin: {"plugins":[{"id":..,"versions":[{..version..}, ..]}, ..]}.
        array.forEach(plugin -> {
            if (plugin.path("versions").isArray()) {
                plugin.get("versions").forEach(list::add);
            } else {
                list.add(plugin);
            }
        });
        return list;
    }

    private static void print(List<String[]> rows, java.io.PrintWriter out) {
        int[] width = new int[rows.get(0).length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(i == r.length - 1 ? r[i] : String.format("%-" + (width[i] + 2) + "s", r[i]));
            }
            out.println(line.toString().stripTrailing());
        }
    }
}
