package dev.parley.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The image docker/build-image.sh wrote under target/image/&lt;distribution&gt;/: its dir: copy, build arguments, SBOMs. */
final class Image {
    static final ObjectMapper JSON = new ObjectMapper();

    final Path repo;
    final String distribution;
    final Path out;

    private Image(Path repo, String distribution, Path out) {
        this.repo = repo;
        this.distribution = distribution;
        this.out = out;
    }

    /** The image of the distribution the build names ({@code parley.image.distribution}), which must exist. */
    static Image built() {
        Path repo = Path.of(System.getProperty("parley.repo.dir", "../..")).toAbsolutePath().normalize();
        String dist = System.getProperty("parley.image.distribution", "all-in-one");
        return at(repo, dist, repo.resolve("target/image").resolve(dist));
    }

    static Image at(Path repo, String dist, Path out) {
        if (!Files.isRegularFile(out.resolve("image/manifest.json"))) {
            throw new IllegalStateException("no image under " + out + ": build it first with docker/build-image.sh"
                    + " --distribution " + dist);
        }
        return new Image(repo, dist, out);
    }

    JsonNode manifest() {
        return read(out.resolve("image/manifest.json"));
    }

    JsonNode config() {
        return read(blob(manifest().path("config").path("digest").asText()));
    }

    /** The one layer (the rootfs), gzip-compressed tar. */
    Path layer() {
        JsonNode layers = manifest().path("layers");
        if (layers.size() != 1) {
            throw new IllegalStateException("expected one layer, found " + layers.size());
        }
        return blob(layers.get(0).path("digest").asText());
    }

    Path blob(String digest) {
        return out.resolve("image").resolve(digest.substring(digest.indexOf(':') + 1));
    }

    String digest() {
        return text(out.resolve("image-digest.txt")).trim();
    }

    String imageId() {
        return text(out.resolve("image-id.txt")).trim();
    }

    /** The build arguments the script passed (VERSION, REVISION, CREATED, SOURCE, DISTRIBUTION). */
    Map<String, String> buildArgs() {
        Map<String, String> args = new LinkedHashMap<>();
        for (String line : text(out.resolve("build-args.txt")).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                args.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return args;
    }

    static JsonNode read(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a command to its end (at most {@code seconds}); its exit code and what it printed (stdout and stderr). */
    static Result run(Path dir, Map<String, String> env, long seconds, List<String> command) throws IOException,
            InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().putAll(env);
        Path log = Files.createTempFile("image-test", ".log");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(command + " did not end within " + seconds + " s:\n" + Files.readString(log));
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        return new Result(p.exitValue(), output);
    }

    static Result run(List<String> command) throws IOException, InterruptedException {
        return run(Path.of("."), Map.of(), 600, command);
    }

    record Result(int exit, String output) {
        Result ok() {
            if (exit != 0) {
                throw new IllegalStateException("exit " + exit + ":\n" + output);
            }
            return this;
        }
    }
}
