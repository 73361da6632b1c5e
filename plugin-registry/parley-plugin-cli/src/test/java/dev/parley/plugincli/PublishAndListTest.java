package dev.parley.plugincli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.registry.Signatures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PublishAndListTest {

    static final String ENTRY = """
            {"id":"hello","version":"1.0.0","symbolicName":"com.example.hello","type":"provider",
             "publisher":"acme","channel":"beta","yanked":false,"apiRange":"[1.0,2)",
             "sha256":"abc","size":123}""";

    @TempDir
    Path dir;

    RegistryServer registry;
    Path jar;
    Path key;
    String publicKey;

    @BeforeEach
    void setUp() throws Exception {
        registry = new RegistryServer();
        Cli.run("keygen", "--publisher", "acme", "--out", dir.toString());
        key = dir.resolve("acme.key");
        publicKey = Files.readString(dir.resolve("acme.pub")).trim();
        jar = PluginJars.plugin(dir, "hello", "1.0.0");
    }

    @AfterEach
    void tearDown() {
        registry.close();
    }

    @Test
    void publishPostsTheRawJarWithItsSignatureAndPrintsTheEntry() throws Exception {
        registry.answer(201, "application/json", ENTRY);

        Cli r = Cli.run("publish", jar.toString(), "--registry", registry.url() + "/", "--key", key.toString(),
                "--channel", "beta", "--token", "pk-test-token");

        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("published hello 1.0.0").contains("\"sha256\" : \"abc\"");
        assertThat(registry.requests).singleElement().satisfies(req -> {
            assertThat(req.method()).isEqualTo("POST");
            assertThat(req.path()).isEqualTo("/api/v1/registry/plugins");
            assertThat(req.query()).isEqualTo("channel=beta");
            assertThat(req.authorization()).isEqualTo("Bearer pk-test-token");
            assertThat(req.contentType()).isEqualTo("application/octet-stream");
            assertThat(req.body()).isEqualTo(Files.readAllBytes(jar));
            assertThat(Signatures.verify(req.body(), Base64.getDecoder().decode(req.signature()), publicKey)).isTrue();
        });
    }

    @Test
    void publishDefaultsToTheStableChannel() throws Exception {
        registry.answer(201, "application/json", ENTRY);
        assertThat(Cli.run("publish", jar.toString(), "--registry", registry.url(), "--key", key.toString()).exit())
                .isZero();
        assertThat(registry.requests.get(0).query()).isEqualTo("channel=stable");
    }

    @Test
    void aVersionPublishedTwiceIsReportedWithTheProblemsTitleAndDetail() throws Exception {
        registry.answer(409, "application/problem+json", """
                {"type":"https://parley.dev/problems/conflict","title":"Conflict","status":409,
                 "detail":"hello 1.0.0 is already published; versions are immutable","code":"conflict"}""");

        Cli r = Cli.run("publish", jar.toString(), "--registry", registry.url(), "--key", key.toString());

        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("HTTP 409 Conflict: hello 1.0.0 is already published; versions are immutable");
    }

    @Test
    void aRejectedPluginIsReportedWithTheReason() throws Exception {
        registry.answer(422, "application/problem+json", """
                {"title":"Plugin rejected","status":422,"detail":"unknown publisher 'acme'","code":"plugin-rejected"}""");

        Cli r = Cli.run("publish", jar.toString(), "--registry", registry.url(), "--key", key.toString());

        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("HTTP 422 Plugin rejected: unknown publisher 'acme'");
    }

    @Test
    void aJarThatIsNotAPluginIsRefusedBeforeAnythingIsSent() throws Exception {
        Path plain = PluginJars.write(dir, "plain", "1.0.0", null);

        Cli r = Cli.run("publish", plain.toString(), "--registry", registry.url(), "--key", key.toString());

        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("error: ").contains("Parley-Plugin");
        assertThat(registry.requests).isEmpty();
    }

    @Test
    void anUnknownChannelIsRefusedBeforeAnythingIsSent() {
        Cli r = Cli.run("publish", jar.toString(), "--registry", registry.url(), "--key", key.toString(),
                "--channel", "nightly");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("channel must be stable or beta");
        assertThat(registry.requests).isEmpty();
    }

    @Test
    void anUnreachableRegistryIsAClearError() {
        String url = registry.url();
        registry.close();

        Cli r = Cli.run("publish", jar.toString(), "--registry", url, "--key", key.toString(), "--timeout", "5");

        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("cannot connect to the registry");
    }

    @Test
    void aNonHttpRegistryUrlIsRefused() {
        Cli r = Cli.run("list", "--registry", "ftp://example");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("must be http(s)://");
    }

    @Test
    void listPrintsOneLinePerVersion() {
        registry.answer(200, "application/json", "[" + ENTRY + ","
                + ENTRY.replace("1.0.0", "0.9.0").replace("\"yanked\":false", "\"yanked\":true,\"yankReason\":\"broken\"")
                + "]");

        Cli r = Cli.run("list", "--registry", registry.url());

        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(registry.requests).singleElement().satisfies(req -> {
            assertThat(req.method()).isEqualTo("GET");
            assertThat(req.path()).isEqualTo("/api/v1/registry/plugins");
        });
        assertThat(r.out().lines()).hasSize(3);
        assertThat(r.out()).contains("ID").contains("hello  1.0.0").contains("yanked: broken");
    }

    @Test
    void listPrintsEveryVersionOfEveryPluginInTheRegistrysGroupedListing() {
        registry.answer(200, "application/json", "{\"plugins\":[{\"id\":\"hello\",\"latest\":\"1.0.0\",\"versions\":["
                + ENTRY + "," + ENTRY.replace("1.0.0", "0.9.0") + "]},"
                + "{\"id\":\"other\",\"versions\":[" + ENTRY.replace("hello", "other") + "]}]}");

        Cli r = Cli.run("list", "--registry", registry.url());

        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().lines()).hasSize(4);
        assertThat(r.out()).contains("hello  1.0.0").contains("hello  0.9.0").contains("other  1.0.0");
    }

    @Test
    void listAcceptsAnObjectWrappingTheEntriesAndPrintsJsonOnRequest() {
        registry.answer(200, "application/json", "{\"plugins\":[" + ENTRY + "]}");
        assertThat(Cli.run("list", "--registry", registry.url()).out()).contains("hello");
        assertThat(Cli.run("list", "--registry", registry.url(), "--json").out()).contains("\"plugins\"");
    }

    @Test
    void listReportsAServerErrorThatIsNotJson() {
        registry.answer(503, "text/plain", "down for maintenance");
        Cli r = Cli.run("list", "--registry", registry.url());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("HTTP 503: down for maintenance");
    }
}
