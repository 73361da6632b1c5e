package dev.parley.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.JarInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * The SBOMs list what is really inside: every bundle and plugin jar packed in the server jar, the libraries a plugin
 * embeds (checked against the classes in the plugin), and every Debian package of the image's dpkg status.
 */
class SbomTest {
    private final Image image = Image.built();
    private final JsonNode imageSbom = Image.read(image.out.resolve("image.cdx.json"));
    private final JsonNode jar = component(imageSbom.path("components"), "parley.jar");
    private final Path serverJar = image.repo.resolve("distributions/parley-server/target/parley-server.jar");

    private static JsonNode component(JsonNode components, String name) {
        for (JsonNode c : components) {
            if (c.path("name").asText().equals(name)) {
                return c;
            }
        }
        throw new AssertionError("no component " + name + " in " + components);
    }

    private static Set<String> nameVersions(JsonNode components) {
        Set<String> out = new HashSet<>();
        components.forEach(c -> out.add(c.path("name").asText() + "-" + c.path("version").asText()));
        return out;
    }

    /** Validation errors per file (null: valid), by the CycloneDX library's strict 1.6 JSON schema. */
    private static JsonNode validate(Path... files) throws Exception {
        Path modules = Path.of(System.getProperty("parley.tools.dir", "target/tools")).resolve("node_modules");
        assertThat(modules.resolve("@cyclonedx/cyclonedx-library/package.json"))
                .as("npm install --prefix docker/image-tests/target/tools @cyclonedx/cyclonedx-library ajv ... (check-image.sh)")
                .exists();
        List<String> command = new ArrayList<>(List.of("node",
                Path.of(SbomTest.class.getResource("/cyclonedx-validate.cjs").toURI()).toString(), modules.toString()));
        for (Path f : files) {
            command.add(f.toString());
        }
        return Image.JSON.readTree(Image.run(command).ok().output());
    }

    @Test
    void bothSbomsAreValidCycloneDx16() throws Exception {
        Path jarSbom = image.out.resolve("parley-server.cdx.json");
        Path imageSbomFile = image.out.resolve("image.cdx.json");
        JsonNode result = validate(jarSbom, imageSbomFile);
        assertThat(result.get(jarSbom.toString()).isNull()).as(result.toString()).isTrue();
        assertThat(result.get(imageSbomFile.toString()).isNull()).as(result.toString()).isTrue();
        // A broken copy (a version that is a number) is refused: the validation can fail.
        Path broken = Files.createTempFile("broken", ".cdx.json");
        Files.writeString(broken, Files.readString(imageSbomFile).replaceFirst("\"version\" *: *\"[^\"]*\"", "\"version\": 1"));
        assertThat(validate(broken).get(broken.toString()).toString()).contains("must be string");
        Files.delete(broken);
    }

    @Test
    void isCycloneDxForTheImage() {
        assertThat(imageSbom.path("bomFormat").asText()).isEqualTo("CycloneDX");
        assertThat(imageSbom.path("specVersion").asText()).isEqualTo("1.6");
        assertThat(imageSbom.path("metadata").path("component").path("type").asText()).isEqualTo("container");
        assertThat(imageSbom.path("metadata").path("timestamp").asText()).isEqualTo(image.buildArgs().get("CREATED"));
    }

    @Test
    void listsEveryBundleAndPluginPackedInTheServerJar() throws Exception {
        Set<String> listed = nameVersions(jar.path("components"));
        List<String> bundles = new ArrayList<>();
        List<String> plugins = new ArrayList<>();
        try (ZipFile zip = new ZipFile(serverJar.toFile())) {
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                String n = e.getName();
                if (n.startsWith("bundles/") && n.endsWith(".jar")) {
                    bundles.add(n.substring("bundles/".length(), n.length() - 4));
                } else if (n.startsWith("plugins/") && n.endsWith(".jar")) {
                    plugins.add(n.substring("plugins/".length(), n.length() - 4));
                }
            }
        }
        assertThat(bundles).hasSizeGreaterThan(50);
        // bundles/<artifactId>-<version>.jar (a classifier may follow the version: -with-jakarta-websockets)
        for (String b : bundles) {
            assertThat(listed.stream().anyMatch(b::startsWith)).as("bundles/%s.jar in the SBOM", b).isTrue();
        }
        assertThat(plugins).hasSize(7);
        Set<String> names = new HashSet<>();
        jar.path("components").forEach(c -> names.add(c.path("name").asText()));
        assertThat(names).containsAll(plugins);
    }

    @Test
    void listsTheLibrariesAPluginEmbedsAndTheyAreInIt() throws Exception {
        // plugin, a library it embeds privately, a class of that library
        check("dev.parley.provider.anthropic", "anthropic-java-core", "com/anthropic/client/AnthropicClient.class");
        check("dev.parley.provider.bedrock", "netty-codec-http", "io/netty/handler/codec/http/HttpObjectDecoder.class");
        check("dev.parley.provider.openai", "jtokkit", "com/knuddels/jtokkit/Encodings.class");
        check("dev.parley.provider.azure", "okhttp", "lib/okhttp.jar");
    }

    private void check(String plugin, String library, String entry) throws Exception {
        JsonNode p = component(jar.path("components"), plugin);
        component(p.path("components"), library);
        try (ZipFile zip = new ZipFile(serverJar.toFile())) {
            ZipEntry pluginEntry = zip.getEntry("plugins/" + plugin + ".jar");
            Set<String> inside = new HashSet<>();
            try (InputStream in = zip.getInputStream(pluginEntry); JarInputStream jin = new JarInputStream(in)) {
                for (var e = jin.getNextJarEntry(); e != null; e = jin.getNextJarEntry()) {
                    inside.add(e.getName());
                }
            }
            assertThat(inside).as("%s inside %s", entry, plugin).contains(entry);
        }
        // And what the plugin imports (the OSGi API, slf4j from the runtime) is not listed under it.
        Set<String> nested = new HashSet<>();
        p.path("components").forEach(c -> nested.add(c.path("name").asText()));
        assertThat(nested).doesNotContain("osgi.core", "slf4j-api", "dev.parley.api");
    }

    @Test
    void listsEveryDebianPackageOfTheImageAndTheRuntime() throws Exception {
        Set<String> packages = new HashSet<>();
        String status = Image.run(List.of("tar", "-xzOf", image.layer().toString(), "var/lib/dpkg/status")).ok().output();
        String name = null;
        for (String line : status.split("\n")) {
            if (line.startsWith("Package: ")) {
                name = line.substring(9).trim();
            } else if (line.startsWith("Version: ")) {
                packages.add(name + "-" + line.substring(9).trim());
            }
        }
        assertThat(packages).hasSizeGreaterThanOrEqualTo(4).anyMatch(p -> p.startsWith("libc6-"));
        assertThat(nameVersions(imageSbom.path("components"))).containsAll(packages);
        imageSbom.path("components").forEach(c -> {
            if (c.path("purl").asText().startsWith("pkg:deb/")) {
                assertThat(c.path("purl").asText()).startsWith("pkg:deb/debian/" + c.path("name").asText() + "@");
            }
        });
        JsonNode runtime = component(imageSbom.path("components"), "java-runtime");
        assertThat(runtime.path("version").asText()).startsWith("25");
    }

    @Test
    void theImageCarriesTheJarsSbom() throws Exception {
        String inImage = Image.run(List.of("tar", "-xzOf", image.layer().toString(), "opt/parley/parley.cdx.json")).ok().output();
        assertThat(Image.JSON.readTree(inImage).path("metadata").path("component").path("name").asText())
                .isEqualTo("parley-server");
        assertThat(Files.size(image.out.resolve("parley-server.cdx.json"))).isPositive();
    }
}
