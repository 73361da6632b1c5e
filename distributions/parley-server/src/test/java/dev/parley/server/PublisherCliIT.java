package dev.parley.server;

import static dev.parley.server.PluginAdmin.ECHO_ID;
import static dev.parley.server.PluginAdmin.ECHO_MODEL;
import static dev.parley.server.PluginAdmin.ECHO_PUBLISHER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.registry.Signatures;
import dev.parley.testsupport.plugins.TestPluginJars;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarInputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The publisher's path with the shipped command line ({@code parley-plugin}, the shaded jar, as its own process)
 * against the exported server: make a key, have an admin register it, publish, list, be refused for a republished
 * version and for a jar signed with another key, and see an admin install what was published.
 */
class PublisherCliIT {
    static final String TOKEN = "cli-admin-" + UUID.randomUUID();
    /** A publisher of its own: the example jar is re-headered to it, so nothing here relies on the example's key. */
    static final String PUBLISHER = "acme-labs";

    record Run(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    @Test
    void aPublisherKeysPublishesAndListsWithTheCommandLineAndAnAdminInstallsThePlugin(@TempDir Path temp) throws Exception {
        try (var parley = ParleyProcess.start(temp.resolve("data"), Map.of("PARLEY_ADMIN_TOKEN", TOKEN))) {
            var admin = new PluginAdmin(parley, TOKEN);
            String registry = "http://127.0.0.1:" + parley.port;

            // keygen: a private key only its owner can read, and a public key to hand to an admin.
            Path keys = temp.resolve("keys");
            var keygen = cli(temp, "keygen", "--publisher", PUBLISHER, "--out", keys.toString());
            assertThat(keygen.exit()).as(keygen.toString()).isZero();
            Path privateKey = keys.resolve(PUBLISHER + ".key");
            Path publicKey = keys.resolve(PUBLISHER + ".pub");
            assertThat(keygen.out()).contains(privateKey.toString()).contains(publicKey.toString());
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(privateKey))).isEqualTo("rw-------");

            // Before an admin registered the key the registry does not know the publisher.
            Path jar = temp.resolve("example.echo-1.0.0.jar");
            byte[] jarBytes = reheadered(PluginAdmin.exampleJar(), PUBLISHER, "1.0.0");
            Files.write(jar, jarBytes);
            var unknown = cli(temp, "publish", jar.toString(), "--registry", registry, "--token", TOKEN, "--key", privateKey.toString());
            assertThat(unknown.exit()).as(unknown.toString()).isEqualTo(1);
            assertThat(unknown.err()).as(unknown.toString()).contains("HTTP 422").contains("publisher '" + PUBLISHER + "'")
                    .contains("not known to this registry");

            var registered = admin.addPublisher(PUBLISHER, Files.readString(publicKey).trim());
            assertThat(registered.status()).as(registered.body()).isEqualTo(201);

            // publish: exit 0 and the registry's entry printed, describing exactly the bytes on disk.
            var published = cli(temp, "publish", jar.toString(), "--registry", registry, "--token", TOKEN, "--key", privateKey.toString());
            assertThat(published.exit()).as(published.toString()).isZero();
            assertThat(published.out()).contains("published " + ECHO_ID + " 1.0.0");
            var entry = PluginAdmin.JSON.readTree(published.out().substring(published.out().indexOf('{')));
            assertThat(entry.path("id").asText()).isEqualTo(ECHO_ID);
            assertThat(entry.path("version").asText()).isEqualTo("1.0.0");
            assertThat(entry.path("publisher").asText()).isEqualTo(PUBLISHER);
            assertThat(entry.path("channel").asText()).isEqualTo("stable");
            assertThat(entry.path("sha256").asText()).isEqualTo(Signatures.sha256Hex(jarBytes));

            // list: the version is there, with its publisher.
            var list = cli(temp, "list", "--registry", registry, "--token", TOKEN);
            assertThat(list.exit()).as(list.toString()).isZero();
            assertThat(rows(list.out(), ECHO_ID)).containsExactly(List.of(ECHO_ID, "1.0.0", "stable", PUBLISHER, "provider"));

            // The same version again: refused with the registry's 409 problem, its detail printed.
            var again = cli(temp, "publish", jar.toString(), "--registry", registry, "--token", TOKEN, "--key", privateKey.toString());
            assertThat(again.exit()).as(again.toString()).isEqualTo(1);
            assertThat(again.err()).as(again.toString()).contains("HTTP 409")
                    .contains(ECHO_ID + " 1.0.0 is already published").contains("publish a new version");

            // A new version signed with another key of the same name: refused for its signature, nothing kept.
            Path otherKeys = temp.resolve("other-keys");
            assertThat(cli(temp, "keygen", "--publisher", PUBLISHER, "--out", otherKeys.toString()).exit()).isZero();
            Path forged = temp.resolve("example.echo-1.0.1.jar");
            Files.write(forged, reheadered(PluginAdmin.exampleJar(), PUBLISHER, "1.0.1"));
            var refused = cli(temp, "publish", forged.toString(), "--registry", registry, "--token", TOKEN,
                    "--key", otherKeys.resolve(PUBLISHER + ".key").toString());
            assertThat(refused.exit()).as(refused.toString()).isEqualTo(1);
            assertThat(refused.err()).as(refused.toString()).contains("HTTP 422")
                    .contains("signature of " + ECHO_ID + " 1.0.1 does not verify with the key of publisher '" + PUBLISHER + "'");
            var after = cli(temp, "list", "--registry", registry, "--token", TOKEN);
            assertThat(after.exit()).as(after.toString()).isZero();
            assertThat(rows(after.out(), ECHO_ID)).as("only the accepted version").extracting(r -> r.get(1)).containsExactly("1.0.0");
            try (Stream<Path> files = Files.walk(parley.dataDir.resolve("registry/plugins").resolve(ECHO_ID))) {
                assertThat(files.filter(Files::isRegularFile).map(Path::toString))
                        .as("stored artifacts").noneMatch(f -> f.contains("1.0.1"));
            }

            // The admin installs what the command line published, and it answers.
            var installed = admin.install(ECHO_ID, "1.0.0");
            assertThat(installed.status()).as(installed.body()).isEqualTo(201);
            assertThat(admin.answer(ECHO_MODEL, "published from the command line"))
                    .isEqualTo("[echo 1.0.0] published from the command line");
        }
    }

    /** Runs the shipped command line as its own process; stdout and stderr as it printed them. */
    static Run cli(Path temp, String... args) throws IOException, InterruptedException {
        Path jar = Path.of(System.getProperty("parley.plugin.cli.jar", "target/cli/parley-plugin-cli.jar"));
        assertThat(jar).as("the shaded parley-plugin jar (copied by the build)").isRegularFile();
        var command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", jar.toString()));
        command.addAll(Arrays.asList(args));
        Path out = Files.createTempFile(temp, "cli", ".out");
        Path err = Files.createTempFile(temp, "cli", ".err");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("parley-plugin " + String.join(" ", args) + " did not end within 60 s");
        }
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    /** The example jar with its Parley-Plugin header naming {@code publisher} and the given Bundle-Version. */
    static byte[] reheadered(byte[] example, String publisher, String version) throws IOException {
        String header;
        try (var in = new JarInputStream(new ByteArrayInputStream(example))) {
            header = in.getManifest().getMainAttributes().getValue("Parley-Plugin");
        }
        assertThat(header).contains("publisher=" + ECHO_PUBLISHER);
        return TestPluginJars.withHeaders(example, Map.of("Parley-Plugin",
                header.replace("publisher=" + ECHO_PUBLISHER, "publisher=" + publisher), "Bundle-Version", version));
    }

    /** The first five columns (id, version, channel, publisher, type) of the listing's rows for {@code id}. */
    static List<List<String>> rows(String listing, String id) {
        return listing.lines().map(l -> List.of(l.trim().split("\\s+"))).filter(cols -> cols.get(0).equals(id))
                .map(cols -> cols.subList(0, Math.min(5, cols.size()))).toList();
    }
}
