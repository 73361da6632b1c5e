package dev.parley.plugincli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;

/** Small plugin jars for tests: a manifest with the Parley headers and one class file's worth of bytes. */
final class PluginJars {
    private PluginJars() {
    }

    static Path write(Path dir, String id, String version, String pluginHeader) throws IOException {
        var manifest = new Manifest();
        Attributes a = manifest.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", "com.example." + id);
        a.putValue("Bundle-Version", version);
        a.putValue("Import-Package", "dev.parley.api.llm;version=\"[1.0,2)\"");
        if (pluginHeader != null) {
            a.putValue("Parley-Plugin", pluginHeader);
        }
        var bytes = new ByteArrayOutputStream();
        try (var jar = new JarOutputStream(bytes, manifest)) {
            jar.putNextEntry(new ZipEntry("com/example/" + id + "/Provider.txt"));
            jar.write(("plugin " + id + " " + version).getBytes());
            jar.closeEntry();
        }
        Path file = dir.resolve(id + "-" + version + ".jar");
        Files.write(file, bytes.toByteArray());
        return file;
    }

    static Path plugin(Path dir, String id, String version) throws IOException {
        return write(dir, id, version, id + ";type=provider;name=\"Test " + id + "\";publisher=acme");
    }
}
