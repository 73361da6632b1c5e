package dev.parley.registry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/** Plugin jars for tests: a manifest with the given headers and one dummy class entry. */
public final class TestJars {
    private final Map<String, String> headers = new LinkedHashMap<>();
    private String classContent = "dummy";

    private TestJars() {
    }

    /** A valid plugin: example.echo 1.0.0 by acme, importing the chat API. */
    public static TestJars plugin() {
        return plugin("example.echo", "1.0.0");
    }

    public static TestJars plugin(String id, String version) {
        return new TestJars()
                .header("Bundle-ManifestVersion", "2")
                .header("Bundle-SymbolicName", "com.example." + id.replace('-', '_') + ";singleton:=true")
                .header("Bundle-Version", version)
                .header("Import-Package", "dev.parley.api.chat;version=\"[1.0,2)\",dev.parley.api.llm;version=\"[1.0,2)\","
                        + "org.slf4j;version=\"[2.0,3)\",com.example.optional;resolution:=optional")
                .header("Parley-Plugin", id + ";type=tool;name=\"Echo, the tool\";description=\"Says it back; loudly\";publisher=acme")
                .header("Parley-Permissions", "network;target=\"api.example.com:443\", secret;target=apiKey, "
                        + "file;target=cache;actions=\"read,write\", network;target=\"other.example.com:443\"");
    }

    public TestJars header(String name, String value) {
        if (value == null) {
            headers.remove(name);
        } else {
            headers.put(name, value);
        }
        return this;
    }

    public TestJars without(String name) {
        return header(name, null);
    }

    /** Changes the dummy class bytes, so two jars of one version differ. */
    public TestJars content(String content) {
        this.classContent = content;
        return this;
    }

    public byte[] build() {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        headers.forEach(main::putValue);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(out, manifest)) {
            jar.putNextEntry(new JarEntry("com/example/Echo.class"));
            jar.write(classContent.getBytes(StandardCharsets.UTF_8));
            jar.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A zip without a manifest. */
    public static byte[] zipWithoutManifest() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(out)) {
            zip.putNextEntry(new java.util.zip.ZipEntry("readme.txt"));
            zip.write("hello".getBytes(StandardCharsets.UTF_8));
            zip.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
