package dev.parley.server;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * nginx (Debian's package, on the PATH or in /usr/sbin) as the API gateway in front of Parley nodes on loopback: the
 * settings of {@code docker/nginx} that matter to streams (HTTP/1.1 to the nodes, no buffering, long reads,
 * WebSocket upgrade), round robin over the nodes not marked down, and the upstream that answered in
 * {@code X-Upstream} so that a test knows which node serves a stream. {@link #upstreams} rewrites the node list and
 * reloads nginx gracefully (streams on the old workers go on), as an operator drains a node before stopping it.
 */
final class Nginx implements AutoCloseable {
    final int port;
    private final Path dir;
    private final Process master;

    private Nginx(Path dir, int port, Process master) {
        this.dir = dir;
        this.port = port;
        this.master = master;
    }

    static Nginx start(Path dir, List<Integer> nodes) throws IOException {
        Files.createDirectories(dir.resolve("logs"));
        Files.createDirectories(dir.resolve("temp"));
        int port;
        try (var s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.writeString(dir.resolve("nginx.conf"), config(dir, port, nodes, Set.of()));
        var master = new ProcessBuilder(binary(), "-p", dir.toString(), "-c", dir.resolve("nginx.conf").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("logs/stdout.log").toFile()).start();
        var nginx = new Nginx(dir, port, master);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            if (!master.isAlive()) {
                throw new IllegalStateException("nginx exited: " + Files.readString(dir.resolve("logs/stdout.log"))
                        + Files.readString(dir.resolve("logs/error.log")));
            }
            try (var ignored = new Socket("127.0.0.1", port)) {
                return true;
            } catch (IOException e) {
                return false;
            }
        });
        return nginx;
    }

    /** Serves {@code nodes}, those in {@code down} marked down; returns once nginx has reloaded. */
    void upstreams(List<Integer> nodes, Set<Integer> down) throws IOException, InterruptedException {
        Files.writeString(dir.resolve("nginx.conf"), config(dir, port, nodes, down));
        var reload = new ProcessBuilder(binary(), "-p", dir.toString(), "-c", dir.resolve("nginx.conf").toString(),
                "-s", "reload").redirectErrorStream(true).start();
        String out = new String(reload.getInputStream().readAllBytes());
        if (!reload.waitFor(20, TimeUnit.SECONDS) || reload.exitValue() != 0) {
            throw new IllegalStateException("nginx reload failed: " + out);
        }
        // The reload is asynchronous: the master starts new workers on the new configuration after the signal.
        String marker = "reconfiguring";
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
                .until(() -> Files.readString(dir.resolve("logs/error.log")).split(marker, -1).length - 1 >= reloads + 1);
        reloads++;
    }

    private int reloads;

    String errorLog() throws IOException {
        return Files.readString(dir.resolve("logs/error.log"));
    }

    private static String config(Path dir, int port, List<Integer> nodes, Set<Integer> down) {
        String servers = nodes.stream().map(p -> "        server 127.0.0.1:" + p + (down.contains(p) ? " down" : "")
                + " max_fails=1 fail_timeout=5s;").collect(Collectors.joining("\n"));
        return """
                daemon off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/logs/error.log notice;
                events { worker_connections 1024; }
                http {
                    access_log %1$s/logs/access.log;
                    client_body_temp_path %1$s/temp/body;
                    proxy_temp_path %1$s/temp/proxy;
                    fastcgi_temp_path %1$s/temp/fastcgi;
                    uwsgi_temp_path %1$s/temp/uwsgi;
                    scgi_temp_path %1$s/temp/scgi;
                    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
                    upstream parley {
                %2$s
                    }
                    server {
                        listen 127.0.0.1:%3$d;
                        client_max_body_size 1m;
                        location / {
                            proxy_pass http://parley;
                            proxy_http_version 1.1;
                            proxy_set_header Host $host;
                            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                            proxy_set_header Upgrade $http_upgrade;
                            proxy_set_header Connection $connection_upgrade;
                            proxy_buffering off;
                            proxy_request_buffering off;
                            proxy_read_timeout 3600s;
                            proxy_send_timeout 3600s;
                            add_header X-Upstream $upstream_addr always;
                        }
                    }
                }
                """.formatted(dir, servers, port);
    }

    private static String binary() {
        for (String candidate : List.of("/usr/sbin/nginx", "/usr/bin/nginx")) {
            if (Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        return "nginx";
    }

    @Override
    public void close() throws InterruptedException {
        master.destroy();
        if (!master.waitFor(20, TimeUnit.SECONDS)) {
            master.destroyForcibly();
        }
    }
}
