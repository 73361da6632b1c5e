package dev.parley.plugincli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.parley.registry.PluginDescriptor;
import dev.parley.registry.PluginDescriptors;
import dev.parley.registry.Signatures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Writes the index of a folder of plugin jars: each plugin's id and version (from its {@code Parley-Plugin} header
 * and Bundle-Version), SHA-256, size and file name. The server build runs it over the provider plugins it ships
 * (ADR 11), so the index is generated from the jars and cannot drift from them.
 */
@Command(name = "index", mixinStandardHelpOptions = true,
        description = "Write index.json for a folder of plugin jars (id, version, SHA-256, size, file), as the server "
                + "distribution carries them under plugins/.")
final class IndexCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "<dir>", description = "The folder holding the plugin jars.")
    Path dir;

    @Option(names = "--out", paramLabel = "<file>", description = "Where to write the index (default: <dir>/index.json).")
    Path out;

    @Override
    public Integer call() throws Exception {
        List<Path> jars;
        try (Stream<Path> files = Files.list(dir)) {
            jars = files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().toList();
        }
        if (jars.isEmpty()) {
            throw new IllegalArgumentException("no plugin jars in " + dir);
        }
        List<Map<String, Object>> plugins = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (Path jar : jars) {
            byte[] bytes = KeyFiles.readJar(jar);
            PluginDescriptor d = PluginDescriptors.read(bytes);
            if (!ids.add(d.id())) {
                throw new IllegalArgumentException("two jars in " + dir + " are plugin " + d.id());
            }
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("id", d.id());
            entry.put("version", d.version());
            entry.put("sha256", Signatures.sha256Hex(bytes));
            entry.put("size", bytes.length);
            entry.put("file", jar.getFileName().toString());
            entry.put("publisher", d.publisher());
            plugins.add(entry);
        }
        Path target = out == null ? dir.resolve("index.json") : out;
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(target.toFile(), Map.of("plugins", plugins));
        spec.commandLine().getOut().println("indexed " + plugins.size() + " plugins in " + target);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
