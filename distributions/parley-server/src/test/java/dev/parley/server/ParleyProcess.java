package dev.parley.server;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** The exported server jar, started as its own process on a free loopback port, as a user would run it. */
final class ParleyProcess implements AutoCloseable {
    final int port;
    /** The jar to run; null: the server's ({@code parley.server.jar}). */
    private String jar;
    final Path dataDir;
    /** Standard output, and standard error too unless {@link #stderr} is set. */
    final Path log;
    /** Standard error on its own, or null when it goes to {@link #log}. */
    final Path stderr;
    private final Map<String, String> env;
    /** The break-glass admin token it runs with: the test's {@code PARLEY_ADMIN_TOKEN}, or one made up for it. */
    private final String token;
    /** How long {@link #start()} waits for readiness. */
    private Duration readyWithin = Duration.ofSeconds(60);
    /** What {@link #start()} waits for: an answer of {@code /health/ready} that says the server is as expected. */
    private Predicate<HttpResponse<String>> ready = r -> r.statusCode() == 200;
    private Process process;

    ParleyProcess(Path dataDir, Map<String, String> env) throws IOException {
        this(dataDir, env, false);
    }

    ParleyProcess(Path dataDir, Map<String, String> env, boolean separateStderr) throws IOException {
        this.port = freePort();
        this.dataDir = dataDir;
        Path logs = Path.of(System.getProperty("parley.e2e.logs", "target/e2e-logs"));
        Files.createDirectories(logs);
        this.log = logs.resolve("server-" + port + ".log");
        this.stderr = separateStderr ? logs.resolve("server-" + port + ".stderr.log") : null;
        this.env = env;
        this.token = env.getOrDefault("PARLEY_ADMIN_TOKEN", "it-admin-" + java.util.UUID.randomUUID());
    }

    static ParleyProcess start(Path dataDir, Map<String, String> env) throws IOException {
        var p = new ParleyProcess(dataDir, env);
        p.start();
        return p;
    }

    /**
     * Like {@link #start(Path, Map)}, with a longer wait for readiness: a first start that installs the shipped
     * plugins (tens of MB copied into the registry, seven bundles installed and gated) says ready only after that.
     */
    static ParleyProcess start(Path dataDir, Map<String, String> env, Duration readyWithin) throws IOException {
        var p = new ParleyProcess(dataDir, env);
        p.readyWithin = readyWithin;
        p.start();
        return p;
    }

    /**
     * Like {@link #start(Path, Map)}, waiting for {@code /health/ready} to answer as {@code ready} says rather than
     * 200: for a server that is meant not to be ready (a limiter that refuses everything while its Redis is away).
     */
    static ParleyProcess start(Path dataDir, Map<String, String> env, Predicate<HttpResponse<String>> ready)
            throws IOException {
        var p = new ParleyProcess(dataDir, env);
        p.ready = ready;
        p.start();
        return p;
    }

    /** Like {@link #start(Path, Map)}, with standard output and standard error in files of their own. */
    /** Like {@link #start(Path, Map)}, running another distribution's jar. */
    static ParleyProcess start(Path dataDir, Map<String, String> env, String jar) throws IOException {
        var p = new ParleyProcess(dataDir, env);
        p.jar = jar;
        p.start();
        return p;
    }

    static ParleyProcess startWithSeparateStderr(Path dataDir, Map<String, String> env) throws IOException {
        var p = new ParleyProcess(dataDir, env, true);
        p.start();
        return p;
    }

    void start() throws IOException {
        String jar = this.jar != null ? this.jar : System.getProperty("parley.server.jar", "target/parley-server.jar");
        var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        var pb = new ProcessBuilder(java, "-jar", jar).redirectErrorStream(stderr == null)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        if (stderr != null) {
            pb.redirectError(ProcessBuilder.Redirect.appendTo(stderr.toFile()));
        }
        var environment = pb.environment();
        environment.keySet().removeIf(k -> k.startsWith("OPENAI_") || k.startsWith("PARLEY_") || k.startsWith("OTEL_"));
        var all = new HashMap<String, String>();
        // The tests seed only the OpenAI-compatible provider, which they drive against the fake OpenAI server; the
        // other shipped plugins (and the time a first start spends installing them) only where a test asks for them
        // (ShippedPluginsIT).
        all.put("PARLEY_SHIPPED_PLUGINS", "openai");
        all.put("PARLEY_ADMIN_TOKEN", token);
        all.putAll(env);
        all.put("PARLEY_HTTP_PORT", Integer.toString(port));
        all.put("PARLEY_DATA_DIR", dataDir.toString());
        all.put("PARLEY_CONFIG_DIR", dataDir.resolve("config").toString());
        environment.putAll(all);
        process = pb.start();
        try {
            awaitReady();
        } catch (RuntimeException | Error e) {
            // A server that never became ready must not outlive its test: the caller has no handle to close it, and
            // a leftover process keeps the CPU, a port and (on PostgreSQL) a schema the next tests need.
            process.destroyForcibly();
            throw e;
        }
    }

    private void awaitReady() {
        var client = HttpClient.newHttpClient();
        await().atMost(readyWithin).pollInterval(Duration.ofMillis(100)).until(() -> {
            if (!process.isAlive()) {
                throw new IllegalStateException("server exited with " + process.exitValue() + ":\n" + Files.readString(log)
                        + (stderr == null ? "" : Files.readString(stderr)));
            }
            try {
                var r = client.send(HttpRequest.newBuilder(uri("/health/ready")).build(), HttpResponse.BodyHandlers.ofString());
                return ready.test(r);
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** The credential tests use when who calls is not what they test: an owner of the operator tenant. */
    String token() {
        return token;
    }

    /** A request to {@code path} with {@link #token()}. */
    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(uri(path)).header("Authorization", "Bearer " + token);
    }

    /**
     * A new API key ({@code pk-parley-…}) made through the keys API with {@link #token()}, limited to {@code scopes}
     * (none: all its owner's permissions); programs use these with the official SDKs.
     */
    String newApiKey(String name, String... scopes) throws IOException, InterruptedException {
        StringBuilder json = new StringBuilder("{\"name\":\"").append(name).append("\",\"scopes\":[");
        for (int i = 0; i < scopes.length; i++) {
            json.append(i == 0 ? "" : ",").append('"').append(scopes[i]).append('"');
        }
        json.append("]}");
        var reply = HttpClient.newHttpClient().send(request("/api/v1/keys").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json.toString())).build(), HttpResponse.BodyHandlers.ofString());
        if (reply.statusCode() != 201) {
            throw new IllegalStateException("creating an API key failed: " + reply.statusCode() + " " + reply.body());
        }
        var key = java.util.regex.Pattern.compile("\"key\"\\s*:\\s*\"([^\"]+)\"").matcher(reply.body());
        if (!key.find()) {
            throw new IllegalStateException("no key in " + reply.body());
        }
        return key.group(1);
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /**
     * Sends SIGTERM, as a container runtime or Ctrl-C would, and waits for the process to end. A JVM ended by
     * SIGTERM exits with 143 (128 + 15) after its shutdown hooks ran; that is a clean stop.
     */
    int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException("server did not stop within 60 s");
        }
        return process.exitValue();
    }

    /** Kills the process with SIGKILL, as a crashed machine or an OOM kill would end it: no shutdown hook runs. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("server did not die within 30 s of SIGKILL");
        }
    }

    boolean isAlive() {
        return process != null && process.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        if (isAlive()) {
            stop();
        }
    }

    private static int freePort() throws IOException {
        try (var s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * The lines of the log that contain {@code text}, each with the stack-trace lines that follow it: what a test
     * asserting "no exception was logged" shows when it fails, rather than the whole log.
     */
    List<String> logLinesWith(String text) throws IOException {
        List<String> found = new ArrayList<>();
        List<String> lines = Files.readAllLines(log);
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(text)) {
                StringBuilder entry = new StringBuilder(lines.get(i));
                for (int j = i + 1; j < lines.size() && j <= i + 12 && lines.get(j).startsWith("\t"); j++) {
                    entry.append('\n').append(lines.get(j));
                }
                found.add(entry.toString());
            }
        }
        return found;
    }
}
