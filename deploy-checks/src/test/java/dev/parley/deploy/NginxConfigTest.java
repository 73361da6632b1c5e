package dev.parley.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * docker/nginx/nginx.conf through Debian's nginx: `nginx -t`, and the configuration running, with stand-in gateways
 * (NginxProbe). Both run in a mount namespace of their own (`unshare`, as root, as CI runs), where a private
 * /etc/hosts resolves the compose service names gateway-1 and gateway-2 to loopback addresses. The one change to the
 * file: its /tmp paths (pid, temporary files) point into the run's own folder. The running check also gets a network
 * namespace of its own, so ports 80, 443 and 8080 are its alone.
 */
class NginxConfigTest {

    private Path dir;

    @BeforeEach
    void prepare() throws IOException {
        dir = Files.createDirectories(Tools.repo().resolve("deploy-checks/target/nginx-" + UUID.randomUUID()));
        // What nginx writes goes to /tmp (a tmpfs in the read-only container); here to this run's own folder.
        String conf = Files.readString(Tools.repo().resolve("docker/nginx/nginx.conf"));
        assertThat(conf).contains("pid /tmp/nginx.pid;").contains("proxy_temp_path /tmp/proxy;");
        Files.createDirectories(dir.resolve("tmp"));
        Files.writeString(dir.resolve("nginx.conf"), conf.replace(" /tmp/", " " + dir.resolve("tmp") + "/"));
        Files.createDirectories(dir.resolve("certs"));
        Tools.Result cert = Tools.run(List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", dir.resolve("certs/tls.key").toString(), "-out", dir.resolve("certs/tls.crt").toString()));
        assertThat(cert.exitCode()).as(cert.describe()).isZero();
        Files.writeString(dir.resolve("hosts"), "127.0.0.1 localhost\n127.0.0.2 gateway-1\n127.0.0.3 gateway-2\n");
    }

    @AfterEach
    void cleanUp() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Runs a shell command in private mount (and optionally network) namespaces with our hosts file and /tmp. */
    private Tools.Result inNamespace(boolean network, String command) {
        List<String> cmd = new ArrayList<>(List.of("unshare", "--mount"));
        if (network) {
            cmd.add("--net");
        }
        cmd.addAll(List.of("sh", "-c", (network ? "ip link set lo up && " : "")
                + "mount --bind " + dir.resolve("hosts") + " /etc/hosts && " + command));
        return Tools.run(cmd);
    }

    private Tools.Result nginxT() {
        return inNamespace(false, Tools.nginx() + " -t -c " + dir.resolve("nginx.conf") + " -p " + dir + "/");
    }

    @Test
    void nginxAcceptsTheConfiguration() {
        Tools.Result r = nginxT();
        assertThat(r.exitCode()).as(r.describe()).isZero();
        assertThat(r.stderr()).contains("syntax is ok").contains("test is successful");
    }

    @Test
    void nginxRefusesABrokenConfiguration() throws IOException {
        Path conf = dir.resolve("nginx.conf");
        Files.writeString(conf, Files.readString(conf).replace("proxy_buffering off;", "proxy_buffering off"));
        Tools.Result r = nginxT();
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.stderr()).contains("nginx.conf");
    }

    @Test
    void nginxRefusesAMissingCertificate() throws IOException {
        Files.delete(dir.resolve("certs/tls.key"));
        Tools.Result r = nginxT();
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.stderr()).contains("tls.key");
    }

    @Test
    void nginxRefusesUpstreamsItCannotResolve() throws IOException {
        Files.writeString(dir.resolve("hosts"), "127.0.0.1 localhost\n");
        Tools.Result r = nginxT();
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.stderr()).contains("host not found in upstream");
    }

    /** What NginxProbe saw, by key. */
    private Map<String, String> probe() {
        Path classes;
        try {
            classes = Path.of(NginxProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Tools.Result r = inNamespace(true, "exec " + java + " -cp " + classes + " " + NginxProbe.class.getName() + " "
                + Tools.nginx() + " " + dir);
        Map<String, String> seen = new LinkedHashMap<>();
        for (String line : r.stdout().split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                seen.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        String log = "";
        try {
            log = Files.exists(dir.resolve("nginx.log")) ? Files.readString(dir.resolve("nginx.log")) : "";
        } catch (IOException e) {
            log = e.toString();
        }
        assertThat(r.exitCode()).as("%s\nnginx log:\n%s", r.describe(), log).isZero();
        assertThat(seen).doesNotContainKey("error");
        return seen;
    }

    @Test
    void theRunningGatewayTerminatesTlsBalancesLimitsAndStreams() {
        Map<String, String> seen = probe();

        // Plain HTTP is sent to HTTPS.
        assertThat(seen.get("redirect.status")).isEqualTo("308");
        assertThat(seen.get("redirect.location")).isEqualTo("https://localhost:8443/whoami");

        // TLS ends at nginx; both gateways get requests.
        assertThat(seen.get("balance.servedBy")).contains("200:gateway-1").contains("200:gateway-2");
        assertThat(seen.get("whoami.proto")).isEqualTo("https");
        assertThat(seen.get("whoami.host")).isEqualTo("localhost");

        // X-Forwarded-For: the client's address appended, so Parley's rightmost untrusted entry is the real peer.
        assertThat(seen.get("whoami.xff")).isEqualTo("127.0.0.1");
        assertThat(seen.get("forwarded.xff")).isEqualTo("203.0.113.7, 127.0.0.1");

        // Server-sent events pass event by event, with or without X-Accel-Buffering from the gateway.
        assertThat(seen.get("sse.events")).isEqualTo("one,two");
        assertThat(seen.get("sse.streamed")).isEqualTo("true");
        assertThat(seen.get("sse.contentType")).isEqualTo("text/event-stream");
        assertThat(seen.get("sse.no.header.events")).isEqualTo("one,two");
        assertThat(seen.get("sse.no.header.streamed")).isEqualTo("true");

        // WebSocket: the upgrade goes through, frames both ways.
        assertThat(seen.get("ws.echo")).isEqualTo("ping-parley");

        // Body limit: PARLEY_MAX_BODY_BYTES passes, one byte more is refused at nginx.
        assertThat(seen.get("body.atLimit")).isEqualTo("200:1048576");
        assertThat(seen.get("body.overLimit")).isEqualTo("413");

        // /metrics stays inside.
        assertThat(seen.get("metrics.status")).isEqualTo("404");
        assertThat(seen.get("metrics.reachedGateway")).isEqualTo("false");

        // 120 requests back to back: a burst passes (41 and what refills meanwhile, less what the requests above still
        // count for), then requests are refused with 429, one let through now and then as the rate (20/s) refills.
        Map<Integer, Integer> burst = parseCounts(seen.get("burst.statuses"));
        assertThat(burst.keySet()).containsOnly(200, 429);
        assertThat(burst.get(429)).isPositive();
        assertThat(seen.get("burst.order")).matches("o{30,}x.*");
    }

    @Test
    void withBufferingOnAnEventStreamWithoutTheHeaderIsHeldBack() throws IOException {
        // The same run with proxy_buffering on: a stream whose gateway sends X-Accel-Buffering: no still streams,
        // one without it is held back until the gateway ends it. This is what `proxy_buffering off` is for.
        Path conf = dir.resolve("nginx.conf");
        Files.writeString(conf, Files.readString(conf).replace("proxy_buffering off;", "proxy_buffering on;"));
        Map<String, String> seen = probe();
        assertThat(seen.get("sse.streamed")).isEqualTo("true");
        assertThat(seen.get("sse.no.header.streamed")).isEqualTo("false");
        assertThat(seen.get("sse.no.header.events")).isEqualTo("one,two");
    }

    private static Map<Integer, Integer> parseCounts(String s) {
        Map<Integer, Integer> m = new LinkedHashMap<>();
        for (String part : s.replaceAll("[{}]", "").split(",\\s*")) {
            String[] kv = part.split("=");
            m.put(Integer.parseInt(kv[0].trim()), Integer.parseInt(kv[1].trim()));
        }
        return m;
    }
}
