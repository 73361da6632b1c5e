package dev.parley.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image run the way a container runtime runs it, by hand, to look at what a runtime hides ({@link PodmanRunTest}
 * runs it in podman): the layer unpacked, mounted read-only in a mount and PID namespace of its own, tmpfs on the two volumes, the entrypoint started as the image's
 * user with only the image's environment, so java is PID 1. It must become ready, answer its own health check,
 * and stop on SIGTERM within the shutdown timeout. Needs root (unshare, mount, chroot).
 */
class ImageRunTest {
    private final Image image = Image.built();
    private final JsonNode config = image.config().path("config");

    @TempDir
    Path work;

    @Test
    void startsReadOnlyAsItsUserAsPid1BecomesReadyAndStopsOnSigterm() throws Exception {
        assertThat(Image.run(List.of("id", "-u")).ok().output().trim())
                .as("this test mounts and chroots: run it as root (sudo)").isEqualTo("0");
        Path rootfs = work.resolve("rootfs");
        Files.createDirectories(rootfs);
        Image.run(List.of("tar", "--numeric-owner", "-xzf", image.layer().toString(), "-C", rootfs.toString())).ok();
        // Mount points a container runtime makes itself, and a /dev/null for the health check run after the stop,
        // outside the container's namespaces (in them, the host's /dev is mounted over it).
        for (String d : List.of("proc", "dev")) {
            Files.createDirectories(rootfs.resolve(d));
        }
        Image.run(List.of("mknod", "-m", "666", rootfs.resolve("dev/null").toString(), "c", "1", "3")).ok();
        String user = config.path("User").asText();
        String uid = user.substring(0, user.indexOf(':'));
        String gid = user.substring(user.indexOf(':') + 1);
        int port = freePort();
        Map<String, String> env = new TreeMap<>(ImageConfigTest.env(config));
        env.put("PARLEY_HTTP_PORT", Integer.toString(port));
        env.put("PARLEY_ADMIN_TOKEN", "image-test-token");
        String dataDir = env.get("PARLEY_DATA_DIR");

        List<String> envArgs = new ArrayList<>(List.of("env", "-i"));
        env.forEach((k, v) -> envArgs.add(k + "=" + v));
        List<String> entrypoint = ImageConfigTest.strings(config.path("Entrypoint"));
        String r = rootfs.toString();
        String mounts = String.join(" && ",
                "mount --bind " + r + " " + r,
                "mount -o remount,bind,ro " + r,
                "mount -t tmpfs -o uid=" + uid + ",gid=" + gid + ",mode=0750 tmpfs " + r + dataDir,
                "mount -t tmpfs -o mode=1777 tmpfs " + r + "/tmp",
                "mount -t proc proc " + r + "/proc",
                "mount --rbind /dev " + r + "/dev");
        List<String> command = new ArrayList<>(List.of("unshare", "--mount", "--pid", "--fork", "--propagation", "private",
                "sh", "-c", mounts + " && exec \"$@\"", "container"));
        command.addAll(envArgs);
        command.addAll(List.of(which("chroot"), "--userspec=" + uid + ":" + gid, "--groups=" + gid, r,
                "/bin/busybox", "sh", "-c", "cd \"$0\" && exec \"$@\"", config.path("WorkingDir").asText()));
        command.addAll(entrypoint);

        Path log = work.resolve("server.log");
        long started = System.nanoTime();
        Process unshare = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            HttpClient http = HttpClient.newHttpClient();
            URI ready = URI.create("http://127.0.0.1:" + port + "/health/ready");
            await().atMost(Duration.ofSeconds(240)).pollInterval(Duration.ofMillis(500)).until(() -> {
                if (!unshare.isAlive()) {
                    throw new AssertionError("the container's process ended:\n" + Files.readString(log));
                }
                try {
                    return http.send(HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.ofString())
                            .statusCode() == 200;
                } catch (IOException e) {
                    return false;
                }
            });

            long readyMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            // The java launcher took the image's JVM flags (it names them on standard error).
            assertThat(Files.readString(log)).contains("Picked up JDK_JAVA_OPTIONS: " + env.get("JDK_JAVA_OPTIONS"));
            assertThat(env.get("JDK_JAVA_OPTIONS")).contains("-XX:+UseZGC");
            // java itself, not a shell, is the first process of its PID namespace, as the image's user.
            ProcessHandle java = unshare.toHandle().children().findFirst().orElseThrow();
            List<String> status = Files.readAllLines(Path.of("/proc", Long.toString(java.pid()), "status"));
            assertThat(field(status, "NSpid")).endsWith("\t1");
            assertThat(field(status, "Uid")).startsWith("Uid:\t" + uid + "\t");
            assertThat(field(status, "Gid")).startsWith("Gid:\t" + gid + "\t");
            assertThat(Files.readSymbolicLink(Path.of("/proc", Long.toString(java.pid()), "exe")).toString())
                    .endsWith(entrypoint.get(0));
            // The collector is ZGC: its threads run in the JVM.
            List<String> threads = new ArrayList<>();
            try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(java.pid()), "task"))) {
                for (Path t : tasks.toList()) {
                    threads.add(Files.readString(t.resolve("comm")).trim());
                }
            }
            assertThat(threads).contains("ZDirector").noneMatch(t -> t.startsWith("G1 "));
            // It wrote its data into the volume (its database, framework cache, generated secrets).
            Path volume = Path.of("/proc", Long.toString(java.pid()), "root").resolve(dataDir.substring(1));
            try (Stream<Path> files = Files.list(volume)) {
                assertThat(files.map(p -> p.getFileName().toString())).contains("felix-cache", "node-id");
            }
            // The image's own health check, run inside the container (its namespaces and root, as its user, with the
            // image's environment: what docker exec does), says healthy.
            Image.Result healthy = healthCheck(envArgs, List.of(which("nsenter"), "--target", Long.toString(java.pid()),
                    "--mount", "--pid", "--root", "--wd", "--setuid", uid, "--setgid", gid));
            assertThat(healthy.exit()).as(healthy.output()).isZero();

            long graceSeconds = Long.parseLong(env.get("PARLEY_SHUTDOWN_TIMEOUT_SECONDS")) + 5;
            long stopStarted = System.nanoTime();
            java.destroy(); // SIGTERM
            assertThat(unshare.waitFor(graceSeconds, TimeUnit.SECONDS))
                    .as("stopped within PARLEY_SHUTDOWN_TIMEOUT_SECONDS + 5 s").isTrue();
            long stopMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopStarted);
            String output = Files.readString(log);
            // 143: the JVM ran its shutdown hooks for SIGTERM (a SIGKILL would give 137).
            assertThat(unshare.exitValue()).as(output).isEqualTo(143);
            assertThat(output).doesNotContain("unclean shutdown");
            System.out.printf("image ready in %d ms (first start), stopped on SIGTERM in %d ms%n", readyMillis, stopMillis);
            // Stopped, the health check fails: it does check the server.
            Image.Result unhealthy = healthCheck(envArgs, List.of(which("chroot"), "--userspec=" + uid + ":" + gid,
                    "--groups=" + gid, rootfs.toString()));
            assertThat(unhealthy.exit()).isNotZero();
            assertThat(unhealthy.output()).contains("can't connect");
        } finally {
            unshare.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            unshare.destroyForcibly();
            unshare.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** The image's HEALTHCHECK command, with the image's environment, entered the way {@code into} says. */
    private Image.Result healthCheck(List<String> envArgs, List<String> into) throws Exception {
        List<String> test = ImageConfigTest.strings(config.path("Healthcheck").path("Test"));
        assertThat(test.get(0)).isEqualTo("CMD");
        List<String> command = new ArrayList<>(envArgs);
        command.addAll(into);
        command.addAll(test.subList(1, test.size()));
        long timeoutSeconds = TimeUnit.NANOSECONDS.toSeconds(config.path("Healthcheck").path("Timeout").asLong()) + 5;
        return Image.run(Path.of("."), Map.of(), timeoutSeconds, command);
    }

    /** A host command by its path: {@code env -i} leaves no PATH to find it by. */
    private static String which(String command) throws Exception {
        return Image.run(List.of("sh", "-c", "command -v " + command)).ok().output().trim();
    }

    private static String field(List<String> status, String name) {
        return status.stream().filter(l -> l.startsWith(name + ":")).findFirst().orElseThrow();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
