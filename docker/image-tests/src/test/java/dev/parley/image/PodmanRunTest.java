package dev.parley.image;

import static org.assertj.core.api.Assertions.assertThat;
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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image in a container runtime: podman loads image.tar and runs it with a read-only root filesystem; it becomes
 * ready, podman's run of the image's HEALTHCHECK says healthy, it runs as its user and cannot write its root
 * filesystem, and {@code podman stop} (SIGTERM) ends it with exit 143 well within the grace period.
 *
 * <p>podman runs with its own store under the test's folder, runc, cgroupfs and no default ulimits: on these CI
 * machines crun's setrlimit is refused ("crun: setrlimit RLIMIT_NOFILE: Operation not permitted") and the cgroup
 * hierarchy is a v1/v2 hybrid that crun refuses; runc takes it. Host networking: the sandbox has no bridge.
 */
class PodmanRunTest {
    private final Image image = Image.built();

    @TempDir
    Path work;

    private Image.Result podman(long seconds, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("podman", "--root", work.resolve("store").toString(),
                "--runroot", work.resolve("run").toString(), "--storage-driver", "vfs", "--runtime", "runc",
                "--cgroup-manager", "cgroupfs", "--events-backend", "file"));
        command.addAll(List.of(args));
        return Image.run(work, Map.of("CONTAINERS_CONF", work.resolve("containers.conf").toString()), seconds, command);
    }

    @Test
    void runsReadOnlyInPodmanIsHealthyAndStopsOnSigterm() throws Exception {
        Files.writeString(work.resolve("containers.conf"), "[containers]\ndefault_ulimits = []\n");
        String id = image.imageId().substring("sha256:".length());
        podman(300, "load", "-q", "-i", image.out.resolve("image.tar").toString()).ok();
        int port = freePort();
        String name = "parley-image-test-" + port;
        try {
            podman(120, "run", "-d", "--name", name, "--read-only", "--network", "host",
                    "-e", "PARLEY_HTTP_PORT=" + port, "-e", "PARLEY_ADMIN_TOKEN=image-test-token", id).ok();
            HttpClient http = HttpClient.newHttpClient();
            URI ready = URI.create("http://127.0.0.1:" + port + "/health/ready");
            await().atMost(Duration.ofSeconds(240)).pollInterval(Duration.ofMillis(500)).until(() -> {
                String state = podman(30, "inspect", name, "--format", "{{.State.Status}}").ok().output().trim();
                if (!state.endsWith("running")) {
                    throw new AssertionError("container " + state + ":\n" + podman(30, "logs", name).output());
                }
                try {
                    return http.send(HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.ofString())
                            .statusCode() == 200;
                } catch (IOException e) {
                    return false;
                }
            });

            Image.Result health = podman(60, "healthcheck", "run", name);
            assertThat(health.exit()).as(health.output()).isZero();
            assertThat(podman(30, "exec", name, "/bin/busybox", "id", "-u").ok().output().trim()).endsWith("10001");
            Image.Result write = podman(30, "exec", name, "/bin/busybox", "touch", "/opt/parley/x");
            assertThat(write.exit()).isNotZero();
            assertThat(write.output()).contains("Read-only file system");
            // The data volume (an anonymous volume from the image's VOLUME) is written.
            assertThat(podman(30, "exec", name, "/bin/busybox", "ls", "/var/lib/parley").ok().output())
                    .contains("felix-cache");

            long start = System.nanoTime();
            podman(60, "stop", "-t", "40", name).ok();
            long stopMillis = (System.nanoTime() - start) / 1_000_000;
            assertThat(podman(30, "inspect", name, "--format", "{{.State.ExitCode}}").ok().output().trim())
                    .endsWith("143");
            assertThat(stopMillis).as("stopped by SIGTERM, not by the SIGKILL after 40 s").isLessThan(35_000);
            String logs = podman(30, "logs", name).ok().output();
            assertThat(logs).contains("Picked up JDK_JAVA_OPTIONS: -XX:+UseZGC", "Stopped Jetty")
                    .doesNotContain("unclean shutdown");
            System.out.printf("podman: ready, healthy, stopped on SIGTERM in %d ms%n", stopMillis);
        } finally {
            podman(60, "rm", "-f", "-v", name);
            podman(120, "rmi", "-f", id);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
