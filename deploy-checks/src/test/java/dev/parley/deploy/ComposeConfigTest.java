package dev.parley.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import tools.jackson.databind.JsonNode;

/**
 * docker/compose.yaml as `docker-compose config` (Debian's docker-compose 1.29: it parses and interpolates without a
 * Docker engine) resolves it, checked against nginx's configuration, Prometheus's and docker/init.sh.
 */
class ComposeConfigTest {

    private static final Path DOCKER = Tools.repo().resolve("docker");
    private static final Pattern REQUIRED_VAR = Pattern.compile("\\$\\{([A-Z0-9_]+):\\?");

    /** The variables compose.yaml refuses to run without. */
    private static Set<String> requiredVariables() throws IOException {
        Set<String> vars = new TreeSet<>();
        Matcher m = REQUIRED_VAR.matcher(Files.readString(DOCKER.resolve("compose.yaml")));
        while (m.find()) {
            vars.add(m.group(1));
        }
        return vars;
    }

    private static Path envFile(Path dir, Set<String> vars) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String v : vars) {
            sb.append(v).append("=test-").append(v.toLowerCase()).append('\n');
        }
        Path f = dir.resolve("test.env");
        Files.writeString(f, sb.toString());
        return f;
    }

    private static Tools.Result config(Path composeFile, Path envFile) {
        return Tools.run(List.of(Tools.dockerCompose(), "-f", composeFile.toString(), "--env-file", envFile.toString(),
                "config"), null, Map.of(), true);
    }

    private static JsonNode resolved(Path tmp) throws IOException {
        Tools.Result r = config(DOCKER.resolve("compose.yaml"), envFile(tmp, requiredVariables()));
        assertThat(r.exitCode()).as(r.describe()).isZero();
        return Manifests.YAML.readTree(r.stdout());
    }

    private static Map<String, JsonNode> parleyServices(JsonNode compose) {
        Map<String, JsonNode> parley = new TreeMap<>();
        compose.path("services").properties().forEach(e -> {
            if (e.getValue().path("image").asString("").startsWith("ghcr.io/parley-dev/parley-")) {
                parley.put(e.getKey(), e.getValue());
            }
        });
        return parley;
    }

    private static String nginxConf() throws IOException {
        return Files.readString(DOCKER.resolve("nginx/nginx.conf"));
    }

    @Test
    void theStackHasEveryPartAndPinsEveryImage(@TempDir Path tmp) throws IOException {
        JsonNode compose = resolved(tmp);
        Set<String> services = new TreeSet<>(compose.path("services").propertyNames());
        assertThat(services).contains("nginx", "gateway-1", "gateway-2", "worker", "postgres", "redis", "kafka",
                "jaeger", "prometheus", "grafana", "minio");
        List<Policy.Violation> unpinned = new ArrayList<>();
        compose.path("services").properties().forEach(e ->
                Policy.checkImage(e.getValue().path("image").asString(""), e.getKey(), unpinned));
        assertThat(unpinned).isEmpty();
        Map<String, JsonNode> parley = parleyServices(compose);
        assertThat(parley.keySet()).containsExactlyInAnyOrder("gateway-1", "gateway-2", "worker");
        assertThat(parley.get("gateway-1").path("image").asString()).contains("/parley-gateway:");
        assertThat(parley.get("worker").path("image").asString()).contains("/parley-worker:");
        JsonNode kafka = compose.path("services").path("kafka").path("environment");
        assertThat(kafka.path("KAFKA_PROCESS_ROLES").asString()).isEqualTo("broker,controller");
        assertThat(kafka.has("KAFKA_ZOOKEEPER_CONNECT")).isFalse();
    }

    @Test
    void parleyRunsAsTheImageExpectsAndStopsGracefully(@TempDir Path tmp) throws IOException {
        for (Map.Entry<String, JsonNode> e : parleyServices(resolved(tmp)).entrySet()) {
            JsonNode s = e.getValue();
            assertThat(s.path("user").asString()).as(e.getKey()).isEqualTo("10001:10001");
            assertThat(s.path("read_only").asBoolean()).as(e.getKey()).isTrue();
            assertThat(s.path("cap_drop").toString()).as(e.getKey()).contains("ALL");
            assertThat(s.path("tmpfs").toString()).as(e.getKey()).contains("/tmp");
            assertThat(s.path("volumes").toString()).as(e.getKey()).contains("/var/lib/parley");
            JsonNode env = s.path("environment");
            assertThat(env.path("PARLEY_DATA_DIR").asString()).isEqualTo("/var/lib/parley");
            assertThat(env.path("PARLEY_NODE_ID").asString()).isEqualTo(
                    e.getKey().equals("worker") ? "worker-1" : e.getKey());
            int shutdown = Integer.parseInt(env.path("PARLEY_SHUTDOWN_TIMEOUT_SECONDS").asString());
            String grace = s.path("stop_grace_period").asString();
            assertThat(grace).matches("\\d+s");
            assertThat(Integer.parseInt(grace.replace("s", ""))).as(e.getKey())
                    .isGreaterThan(shutdown + Policy.PROCESS_MARGIN_SECONDS);
        }
    }

    @Test
    void parleyFindsItsNeighboursAndBelievesOnlyNginx(@TempDir Path tmp) throws IOException {
        JsonNode compose = resolved(tmp);
        JsonNode env = compose.path("services").path("gateway-1").path("environment");
        Set<String> services = new TreeSet<>(compose.path("services").propertyNames());
        assertThat(host(env.path("PARLEY_DB_URL").asString().replace("jdbc:", ""))).isIn(services).isEqualTo("postgres");
        assertThat(host(env.path("PARLEY_REDIS_URI").asString())).isEqualTo("redis");
        assertThat(env.path("PARLEY_RATELIMIT_STORE").asString()).isEqualTo("redis");
        assertThat(env.path("OTEL_EXPORTER_OTLP_ENDPOINT").asString()).isEqualTo("http://jaeger:4318");
        assertThat(host(env.path("PARLEY_REGISTRY_S3_ENDPOINT").asString())).isEqualTo("minio");
        assertThat(env.path("PARLEY_REGISTRY_STORAGE").asString()).isEqualTo("s3");
        // X-Forwarded-For is believed from nginx's network only, and nginx sits on it.
        String subnet = compose.path("networks").path("edge").path("ipam").path("config").get(0).path("subnet")
                .asString();
        assertThat(env.path("PARLEY_TRUSTED_PROXIES").asString()).isEqualTo(subnet);
        String nginxIp = compose.path("services").path("nginx").path("networks").path("edge").path("ipv4_address")
                .asString();
        assertThat(nginxIp).startsWith(subnet.substring(0, subnet.lastIndexOf('.') + 1));
        assertThat(compose.path("services").path("worker").path("networks").has("edge")).isFalse();
    }

    private static String host(String uri) {
        return java.net.URI.create(uri).getHost();
    }

    @Test
    void nginxBalancesOverTheGatewaysWithParleysBodyLimit(@TempDir Path tmp) throws IOException {
        JsonNode compose = resolved(tmp);
        String conf = nginxConf();
        Set<String> upstream = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^\\s*server\\s+([\\w.-]+:\\d+)").matcher(conf);
        while (m.find()) {
            upstream.add(m.group(1));
        }
        Set<String> gateways = new TreeSet<>();
        parleyServices(compose).forEach((name, s) -> {
            if (s.path("image").asString().contains("/parley-gateway:")) {
                gateways.add(name + ":" + s.path("environment").path("PARLEY_HTTP_PORT").asString());
            }
        });
        assertThat(upstream).isEqualTo(gateways).hasSize(2);
        Matcher body = Pattern.compile("client_max_body_size\\s+(\\d+);").matcher(conf);
        assertThat(body.find()).isTrue();
        for (JsonNode s : parleyServices(compose).values()) {
            assertThat(s.path("environment").path("PARLEY_MAX_BODY_BYTES").asString()).isEqualTo(body.group(1));
        }
        assertThat(compose.path("services").path("nginx").path("volumes").toString()).contains("/etc/nginx/nginx.conf");
    }

    @Test
    void everyMountedRepositoryFileExists(@TempDir Path tmp) throws IOException {
        // Bind mounts of files in the repository (certificates and secrets come from docker/init.sh).
        int checked = 0;
        for (var e : resolved(tmp).path("services").properties()) {
            for (JsonNode v : e.getValue().path("volumes")) {
                String source = v.isObject() ? v.path("source").asString("") : v.asString("").split(":")[0];
                if (!source.startsWith("/") || source.contains("/certs") || source.contains("/secrets")) {
                    continue;
                }
                assertThat(Path.of(source)).as("%s mounts %s", e.getKey(), source).exists();
                checked++;
            }
        }
        assertThat(checked).isGreaterThanOrEqualTo(5);
    }

    @Test
    void prometheusScrapesEveryParleyNodeAndLoadsTheAlerts(@TempDir Path tmp) throws IOException {
        JsonNode prom = Manifests.YAML.readTree(Files.readString(DOCKER.resolve("prometheus/prometheus.yml")));
        Set<String> targets = new TreeSet<>();
        prom.path("scrape_configs").get(0).path("static_configs")
                .forEach(sc -> sc.path("targets").forEach(t -> targets.add(t.asString())));
        Set<String> nodes = new TreeSet<>();
        parleyServices(resolved(tmp)).keySet().forEach(n -> nodes.add(n + ":8080"));
        assertThat(targets).isEqualTo(nodes);
        // The token file is the compose secret Prometheus gets.
        String secretPath = "/run/secrets/parley_metrics_token";
        assertThat(prom.path("scrape_configs").get(0).path("authorization").path("credentials_file").asString())
                .isEqualTo(secretPath);
        assertThat(resolved(tmp).path("services").path("prometheus").path("secrets").toString())
                .contains("parley_metrics_token");
        // promtool on the file as compose mounts it (rules/alerts.yml beside it is observability's), with the token
        // file, which only exists in the container, swapped for a local one.
        Path dir = Files.createDirectories(tmp.resolve("prometheus/rules"));
        Path token = Files.writeString(tmp.resolve("token"), "t");
        Files.writeString(tmp.resolve("prometheus/prometheus.yml"),
                Files.readString(DOCKER.resolve("prometheus/prometheus.yml")).replace(secretPath, token.toString()));
        Files.copy(Tools.repo().resolve("observability/prometheus/alerts.yml"), dir.resolve("alerts.yml"));
        Tools.Result r = Tools.run(List.of(Tools.promtool(), "check", "config",
                tmp.resolve("prometheus/prometheus.yml").toString()));
        assertThat(r.exitCode()).as(r.describe()).isZero();
        assertThat(r.stdout() + r.stderr()).contains("SUCCESS");
    }

    @Test
    void aMissingSecretIsRefusedWithTheWayOut(@TempDir Path tmp) throws IOException {
        Set<String> vars = new TreeSet<>(requiredVariables());
        assertThat(vars).contains("PARLEY_MASTER_KEY", "PARLEY_DB_PASSWORD", "PARLEY_ADMIN_TOKEN",
                "PARLEY_METRICS_TOKEN");
        vars.remove("PARLEY_MASTER_KEY");
        Tools.Result r = config(DOCKER.resolve("compose.yaml"), envFile(tmp, vars));
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.stderr()).contains("PARLEY_MASTER_KEY").contains("run docker/init.sh");
    }

    @Test
    void initMakesEverySecretOnceAndAKeyNobodyElseReads(@TempDir Path tmp) throws IOException {
        Path docker = Files.createDirectories(tmp.resolve("docker"));
        Files.copy(DOCKER.resolve("init.sh"), docker.resolve("init.sh"));
        Files.copy(DOCKER.resolve("compose.yaml"), docker.resolve("compose.yaml"));
        Tools.Result first = Tools.run(List.of("bash", docker.resolve("init.sh").toString()));
        assertThat(first.exitCode()).as(first.describe()).isZero();
        String env = Files.readString(docker.resolve(".env"));
        for (String v : requiredVariables()) {
            assertThat(env).containsPattern("(?m)^" + v + "=\\S+$");
        }
        assertThat(env).containsPattern("(?m)^PARLEY_MASTER_KEY=k1:[A-Za-z0-9+/]{43}=$");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(docker.resolve(".env"))))
                .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(docker.resolve("nginx/certs/tls.key"))))
                .isEqualTo("rw-------");
        Tools.Result cert = Tools.run(List.of("openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName", "-in",
                docker.resolve("nginx/certs/tls.crt").toString()));
        assertThat(cert.stdout()).contains("CN = localhost").contains("DNS:localhost");
        assertThat(Files.readString(docker.resolve("secrets/parley_metrics_token")))
                .isEqualTo(env.replaceAll("(?s).*PARLEY_METRICS_TOKEN=(\\S+).*", "$1"));
        // A second run keeps everything (the master key above all).
        Tools.Result second = Tools.run(List.of("bash", docker.resolve("init.sh").toString()));
        assertThat(second.exitCode()).isZero();
        assertThat(Files.readString(docker.resolve(".env"))).isEqualTo(env);
        // And compose accepts what it wrote.
        Tools.Result r = config(docker.resolve("compose.yaml"), docker.resolve(".env"));
        assertThat(r.exitCode()).as(r.describe()).isZero();
    }
}
